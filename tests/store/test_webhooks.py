"""The webhook outbox against PostgreSQL: concurrent claimers never take one delivery twice, an
interaction's deliveries are claimable one at a time in order, the stream cursor is held by one process
at a time, and a replay outranks an attempt that was in flight."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from context_store import webhooks as store
from context_store.webhooks import NewDelivery

pytestmark = pytest.mark.store


def _deliveries(webhook_id: uuid.UUID, n: int, keys: int, start_ms: int = 1_000) -> list[NewDelivery]:
    return [
        NewDelivery(
            webhook_id, f"{start_ms + i}-0", start_ms + i, 0, "interaction.queued", f"k{i % keys}", "{}"
        )
        for i in range(n)
    ]


async def test_concurrent_claimers_never_take_one_delivery_twice(pool: asyncpg.Pool) -> None:
    hook = await store.insert(pool, "omniroute", "http://example.com/h", ["*"], "s" * 20, None)
    await store.enqueue(pool, _deliveries(hook.id, 300, keys=300), 86400)
    taken: list[int] = []

    async def claimer() -> None:
        while True:
            claims = await store.claim(pool, 7, 60)
            if not claims:
                return
            taken.extend(c.seq for c in claims)
            await asyncio.sleep(0)  # let the other claimers in between a claim and its outcome
            for c in claims:
                await store.done(pool, c.seq, c.generation, 200)

    await asyncio.gather(*(claimer() for _ in range(6)))
    assert len(taken) == 300 and len(set(taken)) == 300


async def test_an_interactions_deliveries_are_claimed_one_at_a_time_in_order(pool: asyncpg.Pool) -> None:
    hook = await store.insert(pool, "omniroute", "http://example.com/h", ["*"], "s" * 20, None)
    await store.enqueue(pool, _deliveries(hook.id, 9, keys=3), 86400)
    order: dict[str, list[str]] = {}
    while True:
        claims = await store.claim(pool, 100, 60)
        if not claims:
            break
        assert len(claims) <= 3  # one head per key
        for c in claims:
            order.setdefault(str(int(c.event_id.split("-")[0]) % 3), []).append(c.event_id)
            await store.done(pool, c.seq, c.generation, 200)
    assert order == {str(k): [f"{1000 + i}-0" for i in range(9) if (1000 + i) % 3 == k] for k in range(3)}


async def test_a_failed_head_holds_its_key_and_a_replay_outranks_an_attempt_in_flight(
    pool: asyncpg.Pool,
) -> None:
    hook = await store.insert(pool, "omniroute", "http://example.com/h", ["*"], "s" * 20, None)
    await store.enqueue(pool, _deliveries(hook.id, 2, keys=1), 86400)
    (head,) = await store.claim(pool, 10, 60)
    assert await store.retry(pool, head.seq, head.generation, 0, 503, "HTTP 503") == "pending"
    (again,) = await store.claim(pool, 10, 60)
    assert again.seq == head.seq and again.attempts == 2  # the second event still waits behind it
    # a replay while that attempt is in flight: the attempt's success does not mark the replayed delivery
    assert await store.replay(pool, hook.id, (0, 0), 86400) == 2
    await store.done(pool, again.seq, again.generation, 200)
    rows = await store.deliveries(pool, hook.id, (0, 0), "pending", 10)
    assert [r.event_id for r in rows] == ["1000-0", "1001-0"]
    # the retry window: a delay past it fails the delivery for good and frees the key
    (third,) = await store.claim(pool, 10, 60)
    assert await store.retry(pool, third.seq, third.generation, 10 * 86400, None, "refused") == "failed"
    (nxt,) = await store.claim(pool, 10, 60)
    assert nxt.event_id == "1001-0"


async def test_one_process_at_a_time_holds_the_stream_cursor(pool: asyncpg.Pool) -> None:
    await store.init_cursor(pool, "{t}:events", "5-0")
    await store.init_cursor(pool, "{t}:events", "9-0")  # an existing cursor stays
    async with pool.acquire() as a, pool.acquire() as b:
        async with a.transaction():
            assert await store.lock_cursor(a, "{t}:events") == "5-0"
            async with b.transaction():
                assert await store.lock_cursor(b, "{t}:events") is None
            await store.set_cursor(a, "{t}:events", "7-0")
        async with b.transaction():
            assert await store.lock_cursor(b, "{t}:events") == "7-0"


async def test_an_event_is_queued_once_per_webhook(pool: asyncpg.Pool) -> None:
    hook = await store.insert(pool, "omniroute", "http://example.com/h", ["*"], "s" * 20, None)
    await store.enqueue(pool, _deliveries(hook.id, 3, keys=1), 86400)
    await store.enqueue(pool, _deliveries(hook.id, 3, keys=1), 86400)
    assert len(await store.deliveries(pool, hook.id, (0, 0), None, 100)) == 3
    assert not await store.delete(pool, "another", hook.id)  # another domain's webhook is not there
    assert await store.delete(pool, "omniroute", hook.id)
    assert await store.deliveries(pool, hook.id, (0, 0), None, 100) == []


async def test_prune_forgets_only_old_deliveries_that_are_over(pool: asyncpg.Pool) -> None:
    hook = await store.insert(pool, "omniroute", "http://example.com/h", ["*"], "s" * 20, None)
    await store.enqueue(pool, _deliveries(hook.id, 4, keys=4), 86400)
    claims = await store.claim(pool, 10, 60)
    await store.done(pool, claims[0].seq, claims[0].generation, 200)
    await store.retry(pool, claims[1].seq, claims[1].generation, 10 * 86400, None, "gone")  # failed
    await pool.execute("UPDATE webhook_deliveries SET created_at = now() - interval '8 days'")
    assert await store.prune(pool, 7 * 86400) == 2
    left = await store.deliveries(pool, hook.id, (0, 0), None, 10)
    assert {d.status for d in left} == {"pending"} and len(left) == 2
    assert await store.prune(pool, 7 * 86400) == 0
