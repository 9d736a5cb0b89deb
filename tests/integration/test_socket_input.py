"""Bad input over the sockets: every case is answered with an ``error`` frame, the socket stays open (a ping
is acked after it), and nothing is half written. Text an agent wrote keeps everything PostgreSQL can hold;
other fields with a NUL or a lone surrogate are refused naming the field. ``hello`` is always the first
frame of an agent socket, also on a reconnect with work pending."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
import pytest

from router.errors import BadRequest
from router.service.work import WORK
from tests.support.agents import AgentClient
from tests.support.servers import TestServer

NESTED_1000 = '{"type": "ping", "ref": "deep", "x": ' + "[" * 1000 + "]" * 1000 + "}"
NESTED_40 = '{"type": "ping", "ref": "deep", "x": ' + "[" * 40 + "]" * 40 + "}"


def chat(n: int) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": "chat",
        "from": {"kind": "chat_visitor", "value": f"visitor-{uuid.uuid4().hex[:8]}-{n}"},
        "content": f"hello {n}",
    }


async def answer_to(desk: AgentClient, text: str) -> dict[str, Any]:
    """The ack or error frame that answers a raw text frame (sent without a usable ref)."""
    before = len(desk.pending("error")) + len(desk.pending("ack"))
    await desk.send_raw(text)

    async def arrived() -> dict[str, Any]:
        while len(desk.pending("error")) + len(desk.pending("ack")) <= before:
            await asyncio.sleep(0.01)
        return [f for f in desk.frames if f["type"] in ("error", "ack")][-1]

    return await asyncio.wait_for(arrived(), 10)


async def still_open(desk: AgentClient) -> None:
    ack = await desk.call({"type": "ping"})
    assert ack["type"] == "ack", ack
    assert desk.ws is not None and not desk.ws.closed


def locs(error: dict[str, Any]) -> list[list[Any]]:
    return [e["loc"] for e in error.get("errors") or []]


async def holding(server: TestServer, desk: AgentClient) -> str:
    """An interaction ``desk`` holds (assigned)."""
    it = await server.ingest(**chat(1))
    offer, _ = await desk.accept_next()
    assert offer["interaction"]["id"] == it["id"]
    return str(it["id"])


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (NESTED_1000, None),
        (NESTED_40, None),
        ("not json", None),
        ('{"type": "accept", "offer_id": "o1\\u0000"}', "offer_id"),
        ('{"type": "accept", "offer_id": "o1\\ud800"}', "offer_id"),
        ('{"type": "add_note", "interaction_id": "x", "body": "\\u0000"}', "body"),
        ('{"type": "add_note", "interaction_id": "x\\u0000", "body": "note"}', "interaction_id"),
        ('{"type": "ping", "ref": "r\\ud800"}', "ref"),
        ('{"type": "set_state", "state": "available\\u0000"}', "state"),
    ],
    ids=[
        "nested-1000",
        "nested-40",
        "not-json",
        "nul-offer-id",
        "surrogate-offer-id",
        "body-only-nul",
        "nul-interaction-id",
        "surrogate-ref",
        "nul-state",
    ],
)
async def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays_open(
    server: TestServer, text: str, field: str | None
) -> None:
    desk = await server.agent("carol", available=False)
    try:
        error = await answer_to(desk, text)
        assert error["type"] == "error" and error["code"] == "invalid_frame", error
        if field is not None:
            assert any(loc[-1] == field or field in loc for loc in locs(error)), error
        await still_open(desk)
    finally:
        await desk.close()


async def test_text_an_agent_wrote_is_stored_without_what_postgresql_cannot_hold(server: TestServer) -> None:
    """A NUL or a lone surrogate in a message, a note or a completion summary: acked, stored with those
    characters removed and the rest as written."""
    desk = await server.agent("carol")
    try:
        iid = await holding(server, desk)
        sent = await desk.call(
            {
                "type": "send_message",
                "interaction_id": iid,
                "body": "Good\u0000 morning\ud800, Dana \U0001f600",
            }
        )
        assert sent["type"] == "ack", sent
        noted = await desk.call(
            {"type": "add_note", "interaction_id": iid, "body": "VIP\u0000 \udfffcustomer"}
        )
        assert noted["type"] == "ack", noted
        done = await desk.call(
            {
                "type": "complete",
                "interaction_id": iid,
                "disposition": "resolved",
                "summary": "Sorted\u0000 out\ud83d",
            }
        )
        assert done["type"] == "ack", done
        await still_open(desk)
        row = await server.pool.fetchrow(
            "SELECT status, summary, disposition FROM interactions WHERE id = $1", uuid.UUID(iid)
        )
        assert row is not None
        assert (row["status"], row["summary"], row["disposition"]) == ("completed", "Sorted out", "resolved")
        body = await server.pool.fetchval(
            "SELECT body FROM messages WHERE id = $1", uuid.UUID(sent["result"]["message_id"])
        )
        assert body == "Good morning, Dana \U0001f600"
        note = await server.pool.fetchval(
            "SELECT body FROM notes WHERE id = $1", uuid.UUID(noted["result"]["note_id"])
        )
        assert note == "VIP customer"
        history = await server.pool.fetch(
            "SELECT status FROM interaction_history WHERE interaction_id = $1 ORDER BY id", uuid.UUID(iid)
        )
        assert [h["status"] for h in history][-1] == "completed"
    finally:
        await desk.close()


async def test_a_refused_complete_writes_nothing(server: TestServer) -> None:
    """A disposition PostgreSQL cannot hold is refused naming the field, before any write: the live index
    and the record both still hold the work as assigned, and a corrected complete then succeeds."""
    desk = await server.agent("carol")
    try:
        iid = await holding(server, desk)
        refused = await desk.call(
            {"type": "complete", "interaction_id": iid, "disposition": "sold\u0000", "summary": "fine"}
        )
        assert refused["type"] == "error" and ["disposition"] in [loc[-1:] for loc in locs(refused)], refused
        with pytest.raises(BadRequest) as exc:  # the service checks it too, whoever calls it
            await server.server[WORK].complete("carol", iid, "sold\ud800", "fine")
        assert exc.value.errors is not None and exc.value.errors[0]["loc"] == ["disposition"]
        await still_open(desk)
        live = await server.engine.interaction_live(iid)
        assert live.get("st") == "assigned" and live.get("agent") == "carol", live
        row = await server.pool.fetchrow(
            "SELECT status, summary, disposition FROM interactions WHERE id = $1", uuid.UUID(iid)
        )
        assert row is not None and (row["status"], row["summary"], row["disposition"]) == (
            "assigned",
            None,
            None,
        )
        assert iid in await server.engine.agent_work("carol")
        done = await desk.call(
            {"type": "complete", "interaction_id": iid, "disposition": "sold", "summary": "fine"}
        )
        assert done["type"] == "ack", done
    finally:
        await desk.close()


async def test_a_backend_error_while_a_frame_is_handled_answers_an_error_frame(server: TestServer) -> None:
    """A frame whose handling fails in PostgreSQL (here: its connection pool is closed under it) gets an
    error frame; the socket stays open and serves the next frame."""
    desk = await server.agent("carol", available=False)
    try:
        pool = server.pool
        await pool.close()
        answer = await desk.call({"type": "add_note", "interaction_id": str(uuid.uuid4()), "body": "x"})
        assert answer["type"] == "error" and answer["code"] in ("unavailable", "internal"), answer
        await still_open(desk)
    finally:
        await desk.close()


async def test_a_supervisor_frame_nested_1000_deep_is_answered_and_the_socket_stays_open(
    server: TestServer,
) -> None:
    token = await server.token("supervisor")
    url = server.url.replace("http", "ws") + "/v1/supervisor/socket"
    async with aiohttp.ClientSession() as s, s.ws_connect(url, params={"token": token}) as ws:
        assert json.loads(await ws.receive_str(timeout=10))["type"] == "snapshot"
        await ws.send_str(NESTED_1000)
        await ws.send_json({"type": "ping", "ref": "after"})
        seen = []
        while not any(f["type"] == "ack" for f in seen):
            seen.append(json.loads(await ws.receive_str(timeout=10)))
        assert any(f["type"] == "error" for f in seen)
        assert not ws.closed


async def test_hello_is_the_first_frame_on_every_reconnect_with_work_pending(server: TestServer) -> None:
    """Carol holds a chat and drops; a new chat arrives meanwhile; she reconnects (state kept: available,
    so the new chat is offered as she connects). Ten times: the first frame is ``hello`` with the held
    work, and the new offer comes in it or after it, never before."""
    token = await server.token("agent", "carol")
    desk = await server.agent("carol")
    held = await holding(server, desk)
    await desk.close()
    url = server.url.replace("http", "ws") + f"/v1/agents/carol/socket?token={token}"
    orders = []
    for trial in range(10):
        waiting = await server.ingest(**chat(100 + trial))
        async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
            first = json.loads(await ws.receive_str(timeout=10))
            orders.append(first["type"])
            assert first["type"] == "hello", f"trial {trial}: {first['type']} came before hello"
            assert held in [w["interaction"]["id"] for w in first["work"]]
            offer_id = next(
                (o["offer_id"] for o in first["offers"] if o["interaction"]["id"] == waiting["id"]), None
            )
            while offer_id is None:
                frame = json.loads(await ws.receive_str(timeout=10))
                if frame["type"] == "offer" and frame["interaction"]["id"] == waiting["id"]:
                    offer_id = frame["offer_id"]
            await ws.send_json({"type": "accept", "offer_id": offer_id, "ref": "a"})
            await ws.send_json({"type": "complete", "interaction_id": waiting["id"], "ref": "c"})
            acks: set[str] = set()
            while acks != {"a", "c"}:
                frame = json.loads(await ws.receive_str(timeout=10))
                assert frame["type"] != "error", frame
                if frame["type"] == "ack":
                    acks.add(frame["ref"])
    print(f"\nreconnects with work pending: first frames {orders}")
