"""The customer's web chat socket: waiting status, agent replies, reconnects, identity hints."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.webchat.adapter import WebChatAdapter
from router.contracts import OutboundMessage
from router.sdk.client import RouterClient
from tests.support.recorders import RouterStub, serve_adapter

Client = TestClient[web.Request, web.Application]
VISITOR = "visitor-0001-abcd"


@pytest.fixture
async def chat(router_client: RouterClient) -> AsyncIterator[tuple[WebChatAdapter, Client]]:
    adapter = WebChatAdapter({"poll_seconds": 0.05, "hello_timeout_seconds": 2}, router_client)
    client = await serve_adapter(adapter)
    yield adapter, client
    await adapter.stop()
    await client.close()


async def frame(ws: aiohttp.ClientWebSocketResponse, wanted: str | None = None) -> dict[str, Any]:
    """The next frame (of type ``wanted``, skipping others)."""
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        if wanted is None or data["type"] == wanted:
            return data


async def connect(client: Client, **hello: Any) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await client.ws_connect("/adapters/webchat/socket")
    await ws.send_json({"type": "hello", "visitor_id": VISITOR, **hello})
    return ws, await frame(ws)


def agent_reply(body: str, message_id: str = "msg-9") -> OutboundMessage:
    return OutboundMessage.model_validate(
        {
            "message_id": message_id,
            "interaction_id": "i",
            "conversation_id": "c",
            "customer_id": "cus",
            "channel": "chat",
            "to": {"kind": "chat_visitor", "value": VISITOR},
            "body": body,
            "agent_id": "alice",
        }
    )


async def test_the_page_is_served(chat: tuple[WebChatAdapter, Client]) -> None:
    _, client = chat
    page = await client.get("/adapters/webchat/")
    assert page.status == 200 and "text/html" in page.content_type
    text = await page.text()
    assert 'new URL("socket", window.location.href)' in text and "localStorage" in text
    bare = await client.get("/adapters/webchat", allow_redirects=False)
    assert bare.status == 308 and bare.headers["Location"] == "/adapters/webchat/"


async def test_waiting_customer_sees_position_then_the_agents_reply(
    chat: tuple[WebChatAdapter, Client], router_stub: RouterStub
) -> None:
    adapter, client = chat
    ws, welcome = await connect(client, email="Ann@Example.com", phone="+1 650 555 1234", name="Ann")
    assert welcome["type"] == "welcome" and welcome["interaction_id"] is None
    assert welcome["capabilities"]["text"] and not welcome["capabilities"]["media"]

    await ws.send_json({"type": "message", "id": "m1", "text": "Where is my parcel?"})
    ack = await frame(ws, "ack")
    [event] = router_stub.ingested()
    assert ack == {"type": "ack", "id": "m1", "interaction_id": next(iter(router_stub.interactions))}
    assert event["channel"] == "chat" and event["join_open"] is True
    assert event["external_id"] == f"{VISITOR}:m1" == event["message_external_id"]
    assert event["from"] == {"kind": "chat_visitor", "value": VISITOR}
    assert event["customer"] == {
        "name": "Ann",
        "email": "Ann@Example.com",
        "phone": "+1 650 555 1234",
        "verified": False,
    }
    assert event["content"] == "Where is my parcel?"
    assert event["attributes"] == {"contact_unverified": True}

    status = await frame(ws, "status")
    assert (status["status"], status["position"], status["estimated_wait_seconds"]) == ("queued", 1, 30.0)
    router_stub.interactions[ack["interaction_id"]].update(status="assigned", agent_id="alice", position=None)
    status = await frame(ws, "status")
    assert (status["status"], status["agent_id"]) == ("assigned", "alice")

    accepted = await adapter.send(agent_reply("It left the depot this morning."))
    assert accepted.status == "delivered"
    line = await frame(ws, "message")
    assert line == {
        "type": "message",
        "id": "msg-9",
        "sender": "agent",
        "text": "It left the depot this morning.",
        "agent_id": "alice",
    }
    await ws.close()


async def test_reload_resumes_the_same_conversation_with_history(
    chat: tuple[WebChatAdapter, Client], router_stub: RouterStub
) -> None:
    adapter, client = chat
    ws, _ = await connect(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "hello"})
    interaction_id = (await frame(ws, "ack"))["interaction_id"]
    await ws.close()
    now = datetime.now(UTC).isoformat()
    router_stub.interactions[interaction_id]["messages"] = [
        {
            "id": "a",
            "interaction_id": interaction_id,
            "direction": "inbound",
            "body": "hello",
            "created_at": now,
        },
        {
            "id": "b",
            "interaction_id": interaction_id,
            "direction": "outbound",
            "body": "Hi, Bob here.",
            "agent_id": "bob",
            "created_at": now,
        },
    ]
    again, welcome = await connect(client, interaction_id=interaction_id)
    assert welcome["interaction_id"] == interaction_id
    assert [(h["sender"], h["text"]) for h in welcome["history"]] == [
        ("customer", "hello"),
        ("agent", "Hi, Bob here."),
    ]
    assert (await frame(again, "status"))["status"] == "queued"
    await adapter.send(agent_reply("still here", "msg-10"))
    assert (await frame(again, "message"))["text"] == "still here"
    await again.close()


async def test_someone_elses_interaction_cannot_be_resumed(
    chat: tuple[WebChatAdapter, Client], router_stub: RouterStub
) -> None:
    _, client = chat
    ws, _ = await connect(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "private"})
    interaction_id = (await frame(ws, "ack"))["interaction_id"]
    intruder = await client.ws_connect("/adapters/webchat/socket")
    await intruder.send_json(
        {"type": "hello", "visitor_id": "intruder-0002", "interaction_id": interaction_id}
    )
    welcome = await frame(intruder)
    assert welcome["interaction_id"] is None and welcome["history"] == []
    await intruder.close()
    await ws.close()


async def test_two_tabs_see_each_other_and_the_agent(
    chat: tuple[WebChatAdapter, Client], router_stub: RouterStub
) -> None:
    adapter, client = chat
    first, _ = await connect(client)
    second, _ = await connect(client)
    await first.send_json({"type": "message", "id": "m1", "text": "from tab one"})
    echoed = await frame(second, "message")
    assert (echoed["sender"], echoed["text"]) == ("customer", "from tab one")
    await adapter.send(agent_reply("to both"))
    assert (await frame(first, "message"))["text"] == "to both"
    assert (await frame(second, "message"))["text"] == "to both"
    await first.close()
    await second.close()


async def test_contact_details_given_later_go_with_the_next_message(
    chat: tuple[WebChatAdapter, Client], router_stub: RouterStub
) -> None:
    _, client = chat
    ws, _ = await connect(client)
    await ws.send_json({"type": "contact", "email": "known@example.com"})
    await ws.send_json({"type": "message", "id": "m2", "text": "it's me"})
    await frame(ws, "ack")
    assert router_stub.ingested()[0]["customer"] == {
        "name": None,
        "email": "known@example.com",
        "phone": None,
        "verified": False,
    }
    await ws.close()


async def test_end_and_closed_interactions(
    chat: tuple[WebChatAdapter, Client], router_stub: RouterStub
) -> None:
    _, client = chat
    ws, _ = await connect(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "bye soon"})
    interaction_id = (await frame(ws, "ack"))["interaction_id"]
    await ws.send_json({"type": "end"})
    assert (await frame(ws, "ended"))["interaction_id"] == interaction_id
    [end] = router_stub.made("POST", f"/v1/interactions/{interaction_id}/end")
    assert end.json() == {"reason": "customer_left"}
    await ws.close()


async def test_router_down_tells_the_customer(
    chat: tuple[WebChatAdapter, Client], router_stub: RouterStub
) -> None:
    _, client = chat
    ws, _ = await connect(client)
    router_stub.fail_with = 503
    await ws.send_json({"type": "message", "id": "m1", "text": "anyone?"})
    error = await frame(ws, "error")
    assert "send it again" in error["detail"]
    await ws.close()


@pytest.mark.parametrize(
    "first",
    [
        {"type": "message", "id": "m1", "text": "no hello"},
        {"type": "hello", "visitor_id": "short"},
        "not json",
    ],
)
async def test_first_frame_must_be_a_valid_hello(
    chat: tuple[WebChatAdapter, Client], router_stub: RouterStub, first: Any
) -> None:
    _, client = chat
    ws = await client.ws_connect("/adapters/webchat/socket")
    await (ws.send_str(first) if isinstance(first, str) else ws.send_json(first))
    assert (await frame(ws))["type"] == "error"
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    assert router_stub.requests == []


async def test_origins_can_be_restricted(router_client: RouterClient) -> None:
    adapter = WebChatAdapter({"allowed_origins": "https://shop.example"}, router_client)
    client = await serve_adapter(adapter)
    try:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await client.ws_connect("/adapters/webchat/socket", headers={"Origin": "https://evil.example"})
        assert caught.value.status == 403
        ws = await client.ws_connect("/adapters/webchat/socket", headers={"Origin": "https://shop.example"})
        await ws.close()
    finally:
        await client.close()


async def test_a_transfer_is_not_an_end(chat: tuple[WebChatAdapter, Client], router_stub: RouterStub) -> None:
    adapter, client = chat
    ws, _ = await connect(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "billing question"})
    interaction_id = (await frame(ws, "ack"))["interaction_id"]
    assert (await frame(ws, "status"))["status"] == "queued"
    router_stub.interactions[interaction_id].update(status="transferred", position=None)
    assert (await frame(ws, "status"))["status"] == "transferred"
    await adapter.send(agent_reply("Hello from billing"))
    line = await frame(ws)
    assert (line["type"], line["text"]) == ("message", "Hello from billing")
    await ws.close()


async def test_polling_slows_once_an_agent_has_the_chat(
    router_client: RouterClient, router_stub: RouterStub
) -> None:
    adapter = WebChatAdapter({"poll_seconds": 0.02, "assigned_poll_seconds": 5}, router_client)
    client = await serve_adapter(adapter)
    ws, _ = await connect(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "hi"})
    interaction_id = (await frame(ws, "ack"))["interaction_id"]
    await frame(ws, "status")
    router_stub.interactions[interaction_id].update(status="assigned", agent_id="alice")
    await frame(ws, "status")
    reads_at_assignment = len(router_stub.made("GET", "/v1/interactions/"))
    await asyncio.sleep(0.3)  # fifteen waiting-time polls; none while assigned
    assert len(router_stub.made("GET", "/v1/interactions/")) == reads_at_assignment
    await ws.close()
    await adapter.stop()
    await client.close()


async def test_the_adapters_region_reads_the_visitors_national_number(
    router_client: RouterClient, router_stub: RouterStub
) -> None:
    adapter = WebChatAdapter({"poll_seconds": 0.05, "default_region": "gb"}, router_client)
    client = await serve_adapter(adapter)
    try:
        ws, _ = await connect(client, phone="07700 900123")
        await ws.send_json({"type": "message", "id": "m1", "text": "hello"})
        await frame(ws, "ack")
        [event] = router_stub.ingested()
        assert event["region"] == "GB"
        assert event["customer"] == {"name": None, "email": None, "phone": "07700 900123", "verified": False}
        await ws.close()
    finally:
        await adapter.stop()
        await client.close()
