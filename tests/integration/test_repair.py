"""The reconciler repairs what a crash between the PostgreSQL and Redis writes leaves, and nothing else."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from router.service.reconciler import RECONCILER
from tests.support.configs import DEFAULT
from tests.support.servers import TestServer


@pytest.fixture
async def server(make_server) -> TestServer:  # type: ignore[no-untyped-def]
    """A server whose own repair rounds do not run during the test (only the first, at start), so each
    test's explicit repair is the one that finds the gaps it made."""
    started: TestServer = await make_server(DEFAULT.with_routing(reconcile_interval_seconds=3600))
    reconciler = started.server[RECONCILER]
    for _ in range(500):  # the round at start must be over before the test makes its gaps
        if reconciler.repair_rounds:
            break
        await asyncio.sleep(0.01)
    assert reconciler.repair_rounds == 1
    return started


async def _age(server: TestServer, iid: str, seconds: float) -> None:
    """Make an interaction's record look as if it was last changed ``seconds`` ago."""
    pool = server.pool
    await pool.execute(
        "UPDATE interactions SET created_at = created_at - make_interval(secs => $2) WHERE id = $1",
        uuid.UUID(iid),
        seconds,
    )
    await pool.execute(
        "UPDATE interaction_history SET at = at - make_interval(secs => $2) WHERE interaction_id = $1",
        uuid.UUID(iid),
        seconds,
    )


async def test_repair_requeues_a_committed_interaction_the_live_index_never_got(server: TestServer) -> None:
    rt = server
    lost = await server.ingest(
        channel="chat", queue="chat", content="x", **{"from": {"kind": "chat_visitor", "value": "a"}}
    )
    fresh = await server.ingest(
        channel="chat", queue="chat", content="y", **{"from": {"kind": "chat_visitor", "value": "b"}}
    )
    # as if the process died after the commit: the live index does not have them
    for iid in (lost["id"], fresh["id"]):
        await rt.redis.zrem(rt.engine.keys.queue("chat"), iid)
        await rt.redis.zrem(rt.engine.keys.queue_age("chat"), iid)
        await rt.redis.delete(rt.engine.keys.interaction(iid))
    await _age(server, lost["id"], 60)
    assert await server.server[RECONCILER].repair() == 1
    assert await rt.engine.position("chat", lost["id"]) == 1
    # a recent one may be a write in flight: left alone until it is old enough
    assert await rt.engine.position("chat", fresh["id"]) is None


async def test_repair_closes_work_whose_end_the_record_missed_and_drops_ended_live_entries(
    server: TestServer,
) -> None:
    rt = server
    carol = await server.agent("carol")
    held = await server.ingest(
        channel="chat", queue="chat", content="x", **{"from": {"kind": "chat_visitor", "value": "c"}}
    )
    await carol.accept_next()
    await carol.close()
    # the work ended in Redis but the record was never closed (crash between the two)
    await rt.engine.release("carol", held["id"], "completed")
    await _age(server, held["id"], 60)
    # and a waiting entry whose record says the customer left (crash after the PostgreSQL write)
    gone = await server.ingest(
        channel="chat", queue="chat", content="y", **{"from": {"kind": "chat_visitor", "value": "d"}}
    )
    await rt.pool.execute("UPDATE interactions SET status = 'abandoned' WHERE id = $1", uuid.UUID(gone["id"]))
    assert await server.server[RECONCILER].repair() == 2
    status = await rt.pool.fetchval("SELECT status FROM interactions WHERE id = $1", uuid.UUID(held["id"]))
    assert status == "completed"
    assert await rt.engine.interaction_live(gone["id"]) == {}
    assert int((await rt.engine.agent_live("carol")).get("load:chat", 0)) == 0


async def test_repair_releases_held_work_whose_record_is_final_when_seen_twice(server: TestServer) -> None:
    """A transfer or an end of wrap-up writes the record first; should the live step after it fail, the
    live index still holds the work. The repair releases it, but only when a second round still finds it
    so (every normal end closes the record a moment before it releases the work): the agent's capacity
    frees and the agent is matched again."""
    rt = server
    carol = await server.agent("carol")
    try:
        held = await server.ingest(
            channel="chat", queue="chat", content="x", **{"from": {"kind": "chat_visitor", "value": "e"}}
        )
        await carol.accept_next()
        # the record says transferred; the live index was never told
        await server.pool.execute(
            "UPDATE interactions SET status = 'transferred', ended_at = now() WHERE id = $1",
            uuid.UUID(held["id"]),
        )
        reconciler = server.server[RECONCILER]
        assert await reconciler.repair() == 0, "the first round only notes it"
        assert await rt.engine.agent_work("carol") == [held["id"]]
        assert await reconciler.repair() == 1
        assert await rt.engine.agent_work("carol") == []
        assert await rt.engine.interaction_live(held["id"]) == {}
        assert (await rt.engine.agent_live("carol"))["load:chat"] == "0"
        assert await reconciler.repair() == 0
    finally:
        await carol.close()
