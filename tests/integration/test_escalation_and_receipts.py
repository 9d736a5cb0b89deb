"""Escalation onto another channel addresses the customer there; delivery statuses only move forward;
adapters can find interactions by provider id and follow a transfer; the supervisor socket answers pings."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.configs import DEFAULT
from tests.support.servers import TestServer


async def test_escalating_sms_to_email_addresses_the_customers_email(server: TestServer) -> None:
    await server.ingest(
        channel="email",
        queue="general",
        content="earlier mail",
        **{"from": {"kind": "email", "value": "Lee@Example.com"}},
        customer={"phone": "+1 555 010 0142", "verified": True},  # checked: it links the two
    )
    sms = await server.ingest(
        channel="sms",
        queue="chat",
        content="text me back by mail",
        **{"from": {"kind": "phone", "value": "+15550100142"}},
    )
    carol = await server.agent("carol")
    while True:  # carol may first be offered the e-mail; take the SMS
        offer = await carol.next("offer")
        await carol.call({"type": "accept", "offer_id": offer["offer_id"]})
        if offer["interaction"]["id"] == sms["id"]:
            break
    ack = await carol.call(
        {"type": "transfer", "interaction_id": sms["id"], "queue": "general", "channel": "email"}
    )
    assert ack["type"] == "ack", ack
    new = await server.pool.fetchrow(
        "SELECT channel, from_kind, from_value FROM interactions WHERE id = $1",
        uuid.UUID(ack["result"]["interaction_id"]),
    )
    assert dict(new) == {"channel": "email", "from_kind": "email", "from_value": "lee@example.com"}
    await carol.close()


async def test_escalation_without_an_address_on_the_target_channel_is_refused(server: TestServer) -> None:
    chat = await server.ingest(
        channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "anon"}}
    )
    carol = await server.agent("carol")
    await carol.accept_next()
    err = await carol.call(
        {"type": "transfer", "interaction_id": chat["id"], "queue": "general", "channel": "email"}
    )
    assert err["type"] == "error" and "no email address" in err["detail"]
    live = await server.engine.interaction_live(chat["id"])
    assert live["st"] == "assigned" and live["agent"] == "carol", "a refused transfer changes nothing"
    await carol.close()


async def test_delivery_status_never_moves_back_and_reaches_the_agent(make_server: Any) -> None:
    received: list[dict[str, Any]] = []

    async def outbound(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer recorder-token-123"
        received.append(await request.json())
        return web.json_response({}, status=202)

    app = web.Application()
    app.router.add_post("/out", outbound)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server: TestServer = await make_server(
        DEFAULT.adapter(
            "recorder",
            channel="chat",
            outbound_url=f"http://127.0.0.1:{port}/out",
            outbound_token="recorder-token-123",
        )
    )
    chat = await server.ingest(
        channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "r"}}
    )
    carol = await server.agent("carol")
    await carol.accept_next()
    ack = await carol.call(
        {"type": "send_message", "interaction_id": chat["id"], "body": "hello", "subject": "Your question"}
    )
    mid = ack["result"]["message_id"]
    # the router hands the reply to the adapter in its own process, with that adapter's token
    for _ in range(100):
        if received:
            break
        await asyncio.sleep(0.05)
    assert received and received[0]["message_id"] == mid and received[0]["body"] == "hello"
    assert received[0]["subject"] == "Your question"
    for status, expect in [
        ("delivered", "delivered"),
        ("queued", "delivered"),
        ("sent", "delivered"),
        ("read", "read"),
        ("failed", "failed"),
        ("delivered", "failed"),
    ]:
        code, body = await server.request(
            "POST", f"/v1/messages/{mid}/status", {"status": status}, role="adapter"
        )
        assert code in (200, 404), body
        row = await server.pool.fetchval("SELECT status FROM messages WHERE id = $1", uuid.UUID(mid))
        assert row == expect, (status, row)
    frame = await carol.next("message_status", message_id=mid, status="read")
    assert frame["interaction_id"] == chat["id"]
    subject = await server.pool.fetchval(
        "SELECT subject FROM interactions WHERE id = $1", uuid.UUID(chat["id"])
    )
    assert subject == "Your question"
    await carol.close()
    await runner.cleanup()


async def test_find_by_external_id_and_follow_a_transfer(server: TestServer) -> None:
    call = await server.ingest(
        channel="voice",
        queue="general",
        external_id="CA-find",
        **{"from": {"kind": "phone", "value": "+15550177"}},
    )
    code, found = await server.request(
        "GET", "/v1/interactions?channel=voice&external_id=CA-find", role="adapter"
    )
    assert code == 200 and found["id"] == call["id"] and found["position"] == 1
    code, _ = await server.request("GET", "/v1/interactions?channel=voice&external_id=nope", role="adapter")
    assert code == 404
    code, _body = await server.request("GET", "/v1/interactions?channel=voice", role="adapter")
    assert code == 422
    alice = await server.agent("alice")
    await alice.accept_next()
    ack = await alice.call({"type": "transfer", "interaction_id": call["id"], "queue": "voice_billing"})
    code, old = await server.request("GET", f"/v1/interactions/{call['id']}", role="adapter")
    assert old["status"] == "transferred" and old["live_id"] == ack["result"]["interaction_id"]
    await alice.close()


async def test_supervisor_socket_answers_ping(server: TestServer) -> None:
    token = await server.token("supervisor")
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={token}")
        snapshot = json.loads((await ws.receive()).data)
        assert snapshot["type"] == "snapshot"
        assert all("service_level_seconds" in q for q in snapshot["queues"])
        await ws.send_str(json.dumps({"type": "ping", "ref": "p1"}))
        while True:
            frame = json.loads((await ws.receive()).data)
            if frame["type"] == "ack":
                assert frame["ref"] == "p1"
                break
        await ws.send_str("hello")
        while True:
            frame = json.loads((await ws.receive()).data)
            if frame["type"] == "error":
                break
        await ws.close()
