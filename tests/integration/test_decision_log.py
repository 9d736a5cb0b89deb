"""The decision log (router/service/decisions.py) against the real Redis stream and PostgreSQL: a batch of
the stream's routing decisions and agents' changes of presence is written in one statement, events that
arrive within the linger join the batch, and two consumers of one domain record every change exactly
once between them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from context_store import customers, interactions
from context_store.db import StatementCount, create_pool, migrate
from router.backends import RedisClient, close_redis, redis_client
from router.node import Node
from router.routing import events
from router.routing.engine import Engine
from router.service import decisions
from router.service.decisions import DecisionLog
from tests.support.servers import Services


@pytest.fixture
async def pool(services: Services, namespace: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(services.database_url, min_size=1, max_size=10)
    try:
        await migrate(pool)
        yield pool
        await pool.execute("DELETE FROM agent_states WHERE namespace = $1", namespace)
        await pool.execute("DELETE FROM interactions WHERE namespace = $1", namespace)
    finally:
        await pool.close()


@pytest.fixture
async def clients(services: Services, namespace: str) -> AsyncIterator[list[RedisClient]]:
    """Two Redis clients, as two router nodes have; the namespace's keys are removed at the end."""
    made = [redis_client(services.redis_url) for _ in range(2)]
    yield made
    keys = [k async for k in made[0].scan_iter(match=f"*{namespace}*", count=1000)]
    if keys:
        await made[0].delete(*keys)
    for c in made:
        await close_redis(c)


def decision_log(pool: asyncpg.Pool, client: RedisClient, namespace: str) -> DecisionLog:
    return DecisionLog(pool, Engine(client, namespace), Node(grace_ms=60_000), namespace)


async def new_interaction(pool: asyncpg.Pool, namespace: str) -> uuid.UUID:
    async with pool.acquire() as conn, conn.transaction():
        customer = await customers.resolve_customer(conn, [("phone", "+15550100")], phone="+15550100")
    made = await interactions.create(
        pool,
        namespace=namespace,
        interaction_id=uuid.uuid4(),
        customer_id=customer,
        conversation_id=uuid.uuid4(),
        new_conversation=True,
        channel="chat",
        external_id=uuid.uuid4().hex,
        from_kind="phone",
        from_value="+15550100",
        queue_id="support",
        priority=0,
        attributes={},
        subject=None,
        venq_ms=int(time.time() * 1000),
    )
    return made.id


def state(agent: str, st: str, at_ms: int, reason: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"agent_id": agent, "state": st, "at": at_ms, "since": at_ms, "connected": True}
    if reason is not None:
        data["reason"] = reason
    return data


async def state_rows(pool: asyncpg.Pool, namespace: str) -> list[tuple[str, str, str, datetime, str]]:
    found = await pool.fetch(
        "SELECT agent_id, state, reason, at, event_id FROM agent_states WHERE namespace = $1 ORDER BY id",
        namespace,
    )
    return [(r["agent_id"], r["state"], r["reason"], r["at"], r["event_id"]) for r in found]


async def delivered(log: DecisionLog) -> str:
    """The id of the last event the decision log's group was given."""
    groups = await log.engine.redis.xinfo_groups(log.engine.keys.events)
    return next(str(g["last-delivered-id"]) for g in groups if g["name"] == decisions.GROUP)


def counting(log: DecisionLog) -> list[int]:
    """The sizes of the batches ``log`` records, in order."""
    sizes: list[int] = []
    record = log.record

    async def counted(entries: list[tuple[str, dict[str, str]]]) -> None:
        if entries:
            sizes.append(len(entries))
        await record(entries)

    log.record = counted  # type: ignore[method-assign]
    return sizes


async def test_a_batch_of_decisions_and_changes_is_one_statement(
    pool: asyncpg.Pool, clients: list[RedisClient], namespace: str
) -> None:
    log = decision_log(pool, clients[0], namespace)
    sizes = counting(log)
    await log._ensure_group()
    first, second = await new_interaction(pool, namespace), await new_interaction(pool, namespace)
    now = int(time.time() * 1000)
    published = [
        await events.publish(log.engine, "agent_state", state("ana", "available", now)),
        await events.publish(
            log.engine, "offer", {"interaction_id": str(first), "agent_id": "ana", "why": {"score": 1}}
        ),
        await events.publish(log.engine, "agent_state", state("bo", "away", now + 1, "lunch")),
        await events.publish(log.engine, "assigned", {"interaction_id": str(first), "agent_id": "ana"}),
        await events.publish(
            log.engine, "offer_revoked", {"interaction_id": str(second), "reason": "timeout"}
        ),
        await events.publish(log.engine, "agent_state", state("ana", "away", now + 2, "missed")),
        await events.publish(log.engine, "agent_state", {"agent_id": "bo", "state": "dancing", "at": now}),
    ]
    before = StatementCount.value
    await log.step()
    assert StatementCount.value - before == 1, "the decisions and the changes in one statement"
    assert sizes == [7]

    at = [datetime.fromtimestamp((now + n) / 1000, UTC) for n in range(3)]
    assert await state_rows(pool, namespace) == [
        ("ana", "available", "", at[0], published[0]),  # no reason given: ""
        ("bo", "away", "lunch", at[1], published[2]),
        ("ana", "away", "missed", at[2], published[5]),
    ], "the change with an unknown state is left out (logged), the others kept in order"
    kinds = await pool.fetch(
        "SELECT event_id, kind, agent_id FROM routing_decisions WHERE namespace = $1 ORDER BY id", namespace
    )
    assert [(r["event_id"], r["kind"], r["agent_id"]) for r in kinds] == [
        (published[1], "offered", "ana"),
        (published[3], "assigned", "ana"),
        (published[4], "missed", None),
    ]
    assert (await log.engine.redis.xpending(log.engine.keys.events, decisions.GROUP))["pending"] == 0

    # the same batch recorded again (a claim after a crash before the acknowledgement) changes nothing
    entries = await log.engine.redis.xrange(log.engine.keys.events)
    before = StatementCount.value
    await log.record([(str(i), f) for i, f in entries])
    assert StatementCount.value - before == 1
    assert len(await state_rows(pool, namespace)) == 3
    assert await pool.fetchval("SELECT count(*) FROM routing_decisions WHERE namespace = $1", namespace) == 3

    # a batch of changes alone is one statement too
    await events.publish(log.engine, "agent_state", state("cy", "available", now + 3))
    await events.publish(log.engine, "agent_state", state("cy", "offline", now + 4, "disconnected"))
    before = StatementCount.value
    await log.step()
    assert StatementCount.value - before == 1
    assert [r[:3] for r in (await state_rows(pool, namespace))[3:]] == [
        ("cy", "available", ""),
        ("cy", "offline", "disconnected"),
    ]


async def test_events_published_one_by_one_within_the_linger_are_one_batch(
    pool: asyncpg.Pool, clients: list[RedisClient], namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # step() reads both module globals when it runs, so patching the module takes effect. A linger of
    # 2 s (the service's is 0.1 s) leaves ample time for the three publishes that follow the first read,
    # however slow the machine. The blocking read is lengthened so that it cannot time out (empty) before
    # the first event comes (4 s: under the client's 5 s socket timeout).
    monkeypatch.setattr(decisions, "LINGER_S", 2.0)
    monkeypatch.setattr(decisions, "BLOCK_MS", 4000)
    log = decision_log(pool, clients[0], namespace)
    sizes = counting(log)
    await log._ensure_group()
    now = int(time.time() * 1000)
    before = StatementCount.value
    step = asyncio.create_task(log.step())
    first = await events.publish(log.engine, "agent_state", state("a0", "available", now))
    # the others are published only once the step's read has taken the first (blocked on the empty stream
    # and woken by it, or finding it): a step that did not linger would record it alone
    deadline = time.monotonic() + 10
    while await delivered(log) != first:
        assert time.monotonic() < deadline, "the step never read the first event"
        await asyncio.sleep(0.005)
    for n in range(1, 4):
        await events.publish(log.engine, "agent_state", state(f"a{n}", "available", now + n))
    await asyncio.wait_for(step, 15)
    assert sizes == [4], "one read woke on the first event, the linger gathered the others"
    assert StatementCount.value - before == 1
    assert [r[0] for r in await state_rows(pool, namespace)] == ["a0", "a1", "a2", "a3"]


async def test_two_consumers_of_a_domain_record_each_change_exactly_once(
    pool: asyncpg.Pool, clients: list[RedisClient], namespace: str
) -> None:
    """Two nodes' logs running at once on one stream: every change is recorded, none twice, and both
    took part (each batch went to one of them)."""
    logs = [decision_log(pool, c, namespace) for c in clients]
    sizes = [counting(log) for log in logs]
    await logs[0]._ensure_group()
    stop = asyncio.Event()
    running = [asyncio.create_task(log.run(stop)) for log in logs]
    publisher = Engine(clients[0], namespace)
    now = int(time.time() * 1000)
    published: list[str] = []
    try:
        for burst in range(20):
            for n in range(10):
                i = burst * 10 + n
                st = ("available", "away", "offline")[i % 3]
                published.append(
                    await events.publish(publisher, "agent_state", state(f"a{i % 7}", st, now + i))
                )
            await asyncio.sleep(0.03)
        deadline = time.monotonic() + 15
        while len(await state_rows(pool, namespace)) < len(published) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*running), 5)

    rows = await state_rows(pool, namespace)
    assert sorted(r[4] for r in rows) == sorted(published), "every change, once"
    assert sum(sum(s) for s in sizes) == len(published), "no event was handed to both consumers"
    assert all(sizes), f"both consumers recorded batches: {sizes}"
    assert (await publisher.redis.xpending(publisher.keys.events, decisions.GROUP))["pending"] == 0
