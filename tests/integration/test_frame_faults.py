"""A backend fault part-way through a frame that writes to both stores (``accept``, ``reject``,
``complete``, ``transfer``, ``end_wrapup``): the desktop gets an ``error`` frame, its socket stays open
and serves the same frame once PostgreSQL is back, and nothing is half applied: the live index (every
key but the append-only event stream) and the record are exactly as they were before the frame.

The fault is real: a trigger in the test's own database ends the PostgreSQL session that writes the
interaction's history (``pg_terminate_backend`` on itself), so the driver sees its connection drop in the
middle of the frame, after the live index's step for accept, reject and complete (which are then taken
back) and inside the record's transaction for transfer and end_wrapup (which write the record first).
The trigger fires for the one interaction under test only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from router.config import Settings
from tests.conftest import MakeServer
from tests.support.agents import AgentClient
from tests.support.configs import DEFAULT
from tests.support.engine import live_state
from tests.support.servers import TestServer

WRAPUP = DEFAULT.queue("chat", wrapup_seconds=600)

CUT = """
CREATE OR REPLACE FUNCTION test_cut_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_terminate_backend(pg_backend_pid());
    PERFORM pg_sleep(5);  -- the termination lands here, before the row is written
    RETURN NEW;
END $$
"""


@asynccontextmanager
async def session_cut_on_history_of(settings: Settings, interaction_id: str) -> AsyncIterator[None]:
    """While inside: any session that writes a history row of ``interaction_id`` is terminated."""
    name = "cut_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(CUT)
        await conn.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT ON interaction_history FOR EACH ROW"
            f" WHEN (NEW.interaction_id = '{uuid.UUID(interaction_id)}'::uuid)"
            " EXECUTE FUNCTION test_cut_session()"
        )
        yield
    finally:
        await conn.execute(f"DROP TRIGGER IF EXISTS {name} ON interaction_history")
        await conn.close()


async def record_of(server: TestServer, customer_id: str) -> dict[str, Any]:
    """Everything the record holds about one customer's interactions."""
    cid = uuid.UUID(customer_id)
    pool = server.pool
    out: dict[str, Any] = {}
    for name, query in (
        ("interactions", "SELECT * FROM interactions WHERE customer_id = $1 ORDER BY created_at, id"),
        (
            "history",
            "SELECT h.* FROM interaction_history h JOIN interactions i ON i.id = h.interaction_id"
            " WHERE i.customer_id = $1 ORDER BY h.id",
        ),
        ("notes", "SELECT * FROM notes WHERE customer_id = $1 ORDER BY id"),
        ("journey", "SELECT * FROM journey_events WHERE customer_id = $1 ORDER BY id"),
    ):
        out[name] = [dict(r) for r in await pool.fetch(query, cid)]
    return out


async def both_stores(server: TestServer, customer_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # the process's own heartbeat key is refreshed by a timer, whatever the frames do
    live = await live_state(server.engine, skip=(f":node:{server.node.id}",))
    return live, await record_of(server, customer_id)


def chat(n: int) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": "chat",
        "from": {"kind": "chat_visitor", "value": f"visitor-{uuid.uuid4().hex[:8]}-{n}"},
        "content": f"hello {n}",
    }


async def still_open(desk: AgentClient) -> None:
    assert (await desk.call({"type": "ping"}))["type"] == "ack"
    assert desk.ws is not None and not desk.ws.closed


async def offered(server: TestServer, desk: AgentClient) -> tuple[dict[str, Any], dict[str, Any]]:
    it = await server.ingest(**chat(1))
    offer = await desk.next("offer")
    assert offer["interaction"]["id"] == it["id"]
    return it, offer


async def held(server: TestServer, desk: AgentClient) -> dict[str, Any]:
    it = await server.ingest(**chat(1))
    offer, _ = await desk.accept_next()
    assert offer["interaction"]["id"] == it["id"]
    return it


async def faulted(
    server: TestServer, desk: AgentClient, it: dict[str, Any], frame: dict[str, Any]
) -> dict[str, Any]:
    """Send ``frame`` with the record's session cut for ``it``; assert the error frame, the open socket
    and both stores unchanged; answer the error."""
    before = await both_stores(server, it["customer_id"])
    async with session_cut_on_history_of(server.settings, it["id"]):
        error = await desk.call(frame, timeout=30)
        assert error["type"] == "error" and error["code"] == "unavailable", error
        await still_open(desk)
    after = await both_stores(server, it["customer_id"])
    assert after[0] == before[0], "the live index is exactly as before the frame"
    assert after[1] == before[1], "the record is exactly as before the frame"
    return error


async def test_accept(server: TestServer) -> None:
    """accept is taken back as ``unaccept.lua`` does it: the record is exactly as before; the interaction
    waits again at its place rather than holding the same offer, so the agent is offered it anew and
    can accept it once PostgreSQL is back."""
    desk = await server.agent("carol")
    try:
        it, offer = await offered(server, desk)
        before = await record_of(server, it["customer_id"])
        async with session_cut_on_history_of(server.settings, it["id"]):
            error = await desk.call({"type": "accept", "offer_id": offer["offer_id"]}, timeout=30)
            assert error["type"] == "error" and error["code"] == "unavailable", error
            await still_open(desk)
            assert await server.engine.agent_work("carol") == []
        assert await record_of(server, it["customer_id"]) == before
        again = await desk.next("offer")
        assert again["interaction"]["id"] == it["id"]
        ack = await desk.call({"type": "accept", "offer_id": again["offer_id"]})
        assert ack["type"] == "ack", ack
        assert await server.engine.agent_work("carol") == [it["id"]]
    finally:
        await desk.close()


async def test_reject(server: TestServer) -> None:
    desk = await server.agent("carol")
    try:
        it, offer = await offered(server, desk)
        await faulted(server, desk, it, {"type": "reject", "offer_id": offer["offer_id"], "reason": "busy"})
        # the very offer came back to the desktop (it had been told it was revoked)
        back = await desk.next("offer", offer_id=offer["offer_id"])
        assert back["deadline"] == offer["deadline"]
        ack = await desk.call({"type": "reject", "offer_id": offer["offer_id"], "reason": "busy"})
        assert ack["type"] == "ack", ack
        history = await server.pool.fetch(
            "SELECT status FROM interaction_history WHERE interaction_id = $1 ORDER BY id",
            uuid.UUID(it["id"]),
        )
        assert [h["status"] for h in history].count("offer_rejected") == 1
        assert await server.engine.agent_offers("carol") == []
    finally:
        await desk.close()


@pytest.mark.parametrize("wrapup", [0, 600])
async def test_complete(make_server: MakeServer, wrapup: int) -> None:
    server = await make_server(WRAPUP if wrapup else DEFAULT)
    desk = await server.agent("carol")
    try:
        it = await held(server, desk)
        frame = {"type": "complete", "interaction_id": it["id"], "disposition": "sold", "summary": "ok"}
        await faulted(server, desk, it, frame)
        ack = await desk.call(frame)
        assert ack["type"] == "ack", ack
        row = await server.pool.fetchrow(
            "SELECT status, disposition, summary FROM interactions WHERE id = $1", uuid.UUID(it["id"])
        )
        assert row is not None
        status = "wrapup" if wrapup else "completed"
        assert (row["status"], row["disposition"], row["summary"]) == (status, "sold", "ok")
        live = await server.engine.interaction_live(it["id"])
        assert live.get("st") == ("wrapup" if wrapup else None), live
        if not wrapup:
            assert await server.engine.agent_work("carol") == []
            assert (await server.engine.agent_live("carol"))["load:chat"] == "0"
    finally:
        await desk.close()


async def test_end_wrapup(make_server: MakeServer) -> None:
    server = await make_server(WRAPUP)
    desk = await server.agent("carol")
    try:
        it = await held(server, desk)
        done = await desk.call({"type": "complete", "interaction_id": it["id"]})
        assert done["type"] == "ack", done
        frame = {"type": "end_wrapup", "interaction_id": it["id"]}
        await faulted(server, desk, it, frame)
        ack = await desk.call(frame)
        assert ack["type"] == "ack", ack
        status = await server.pool.fetchval(
            "SELECT status FROM interactions WHERE id = $1", uuid.UUID(it["id"])
        )
        assert status == "completed"
        assert await server.engine.interaction_live(it["id"]) == {}
        assert await server.engine.agent_work("carol") == []
    finally:
        await desk.close()


async def test_transfer(server: TestServer) -> None:
    desk = await server.agent("carol")
    try:
        it = await held(server, desk)
        frame = {"type": "transfer", "interaction_id": it["id"], "queue": "general", "note": "over to you"}
        await faulted(server, desk, it, frame)
        ack = await desk.call(frame)
        assert ack["type"] == "ack", ack
        new_id = ack["result"]["interaction_id"]
        rows = await server.pool.fetch(
            "SELECT id, status FROM interactions WHERE customer_id = $1 ORDER BY created_at",
            uuid.UUID(it["customer_id"]),
        )
        assert (str(rows[0]["id"]), rows[0]["status"]) == (it["id"], "transferred")
        assert str(rows[1]["id"]) == new_id
        notes = await server.pool.fetchval(
            "SELECT count(*) FROM notes WHERE interaction_id = $1", uuid.UUID(it["id"])
        )
        assert notes == 1, "the note is written once"
        assert it["id"] not in await server.engine.agent_work("carol")
        assert (await server.engine.interaction_live(new_id)).get("q") == "general"
    finally:
        await desk.close()


async def test_accept_of_a_warm_transfer(make_server: MakeServer) -> None:
    """The target's accept and the close of the sender's interaction are one transaction: when the
    sender's record cannot be closed, the accept is taken back whole (the target holds nothing, the sender
    still holds its interaction) instead of standing while the target's desktop is told it failed."""
    server = await make_server(DEFAULT.agent("dave", name="Dave", skills={"chat": 5}, capacity={"chat": 3}))
    carol = await server.agent("carol")
    dave = await server.agent("dave")
    try:
        it = await held(server, carol)
        ack = await carol.call(
            {"type": "transfer", "interaction_id": it["id"], "agent_id": "dave", "mode": "warm"}
        )
        assert ack["type"] == "ack", ack
        copy_id = ack["result"]["interaction_id"]
        offer = await dave.next("offer")
        assert offer["interaction"]["id"] == copy_id
        before = await record_of(server, it["customer_id"])
        async with session_cut_on_history_of(server.settings, it["id"]):
            error = await dave.call({"type": "accept", "offer_id": offer["offer_id"]}, timeout=30)
            assert error["type"] == "error" and error["code"] == "unavailable", error
            await still_open(dave)
        assert await record_of(server, it["customer_id"]) == before
        assert await server.engine.agent_work("dave") == []
        assert await server.engine.agent_work("carol") == [it["id"]], "the sender keeps it"
        again = await dave.next("offer")
        assert again["interaction"]["id"] == copy_id
        assert (await dave.call({"type": "accept", "offer_id": again["offer_id"]}))["type"] == "ack"
        ended = await carol.next("interaction_ended", timeout=5, interaction_id=it["id"])
        assert ended["reason"] == "transferred"
        assert await server.engine.agent_work("dave") == [copy_id]
    finally:
        await carol.close()
        await dave.close()


async def test_accept_stands_when_the_reads_after_it_fail(make_server: MakeServer) -> None:
    """Once the accept's transaction has committed the accept stands: when the reads that follow it (the
    context record for the ``assigned`` frame, the callback row) lose their PostgreSQL session, the desktop
    is answered ``ack`` and the ``assigned`` frame follows once PostgreSQL answers. An error frame then
    would leave the agent holding work their desktop believes it refused.

    The fault is real: the test holds the tables those reads need (not those the accept writes) and ends
    every router session that waits on its lock, as a PostgreSQL shutdown would."""
    server = await make_server(DEFAULT)
    carol = await server.agent("carol")
    try:
        it, offer = await offered(server, carol)
        conn = await asyncpg.connect(server.settings.database_url)
        ended = 0
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE customers, interaction_callbacks IN ACCESS EXCLUSIVE MODE")
                call = asyncio.create_task(
                    carol.call({"type": "accept", "offer_id": offer["offer_id"]}, timeout=30)
                )
                while not call.done():
                    waiting = await conn.fetch(
                        "SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
                    )
                    for row in waiting:
                        ended += bool(await conn.fetchval("SELECT pg_terminate_backend($1)", row["pid"]))
                    await asyncio.sleep(0.02)
                ack = call.result()
        finally:
            await conn.close()
        assert ended >= 1, "a read after the accept was cut"
        assert ack["type"] == "ack" and ack["result"]["interaction_id"] == it["id"], ack
        assigned = await carol.next("assigned", timeout=10)
        assert assigned["interaction"]["id"] == it["id"]
        assert await server.engine.agent_work("carol") == [it["id"]]
        status = await server.pool.fetchval(
            "SELECT status FROM interactions WHERE id = $1", uuid.UUID(it["id"])
        )
        assert status == "assigned"
        await still_open(carol)
    finally:
        await carol.close()


async def test_the_assigned_frame_of_other_work_does_not_read_callbacks(make_server: MakeServer) -> None:
    """The live index tells the accept whether the work is a callback; other work's ``assigned`` frame
    goes out without reading the callback table (one statement less per contact): with that table locked
    by another session, the accept and its frame still arrive."""
    server = await make_server(DEFAULT)
    carol = await server.agent("carol")
    try:
        it, offer = await offered(server, carol)
        conn = await asyncpg.connect(server.settings.database_url)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE interaction_callbacks IN ACCESS EXCLUSIVE MODE")
                ack = await carol.call({"type": "accept", "offer_id": offer["offer_id"]}, timeout=10)
                assert ack["type"] == "ack", ack
                assigned = await carol.next("assigned", timeout=10)
                assert assigned["interaction"]["id"] == it["id"] and assigned["callback"] is None
        finally:
            await conn.close()
    finally:
        await carol.close()
