"""A channel's service level today, as the blending rules' ``service_level_under`` reads it: counted by
hand over contacts answered in time, late, abandoned, called back, still waiting within and past the
threshold, from yesterday, on another channel and in another routing domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from context_store import interactions, queues
from context_store.blending import channel_service
from router.contracts import QueueConfig
from router.routing.directory import queue_record
from tests.store.conftest import NS, new_customer, new_interaction


async def test_the_channel_service_level_counts_what_waits_past_the_threshold(pool: asyncpg.Pool) -> None:
    await queues.upsert(pool, NS, queue_record("support", QueueConfig(service_level_seconds=20)))
    await queues.upsert(pool, "other", queue_record("support", QueueConfig(service_level_seconds=20)))
    customer = await new_customer(pool)
    now = datetime.now(UTC)
    since = now - timedelta(hours=1)

    async def contact(
        arrived_ago: float, answered_after: float | None = None, *, end: str | None = None, **kw: str
    ) -> None:
        it = await new_interaction(
            pool, customer, channel=kw.get("channel", "voice"), namespace=kw.get("ns", NS)
        )
        ns = kw.get("ns", NS)
        if answered_after is not None:
            assert await interactions.assign(pool, ns, it.id, "ann")
        elif end is not None:
            assert await interactions.customer_ended(pool, ns, it.id, end)
        arrived = now - timedelta(seconds=arrived_ago)
        answered = None if answered_after is None else arrived + timedelta(seconds=answered_after)
        await pool.execute(
            "UPDATE interactions SET created_at = $2, assigned_at = $3 WHERE id = $1",
            it.id,
            arrived,
            answered,
        )

    await contact(600, 5)  # answered in 5 s: in the service level
    await contact(500, 19)  # in it
    await contact(400, 45)  # answered late
    await contact(300, end="hangup")  # abandoned
    await contact(250, end="callback")  # a callback: not an abandon, not counted
    await contact(120)  # still waiting for 120 s: past the threshold already
    await contact(5)  # waiting 5 s: not judged yet
    await contact(7200, 60)  # before `since`: not today's
    await contact(200, 90, channel="chat")  # another channel
    await contact(200, 90, ns="other")  # another routing domain
    counts = await channel_service(pool, NS, "voice", since)
    assert (counts.answered_in_sl, counts.answered, counts.abandoned, counts.waiting_late) == (2, 3, 1, 1)
    assert counts.service_level == 2 / 5
    assert (await channel_service(pool, NS, "email", since)).service_level is None
