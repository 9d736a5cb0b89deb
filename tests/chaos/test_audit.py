"""The audit that ends every fault run sees what it must: a run that lost, doubled or stranded work
fails. Each kind of damage is made by hand on a real router's record and live index."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis

from router.routing.keys import Keys
from tests.chaos.cluster import Cluster
from tests.chaos.load import QUEUE, Adapter, audit


async def test_audit_finds_lost_duplicated_and_stuck_work(cluster: Cluster) -> None:
    (router,) = await cluster.start_routers(1)
    ledger = cluster.ledger
    await Adapter([router.url], cluster.tokens["adapter"], ledger, "audit").post_all(3, rate=100)
    ids = [next(iter(ledger.answered[f"audit-{n}"])) for n in range(3)]
    clean = await audit(cluster.database_url, cluster.redis.url, cluster.namespace, ledger, [])
    assert (clean.lost, clean.duplicated, clean.stuck) == ([], [], []), "three waiting interactions, no agent"
    assert len(clean.still_open) == 3, clean.still_open

    lost, doubled, waiting = ids
    keys = Keys.for_namespace(cluster.namespace)
    r = aioredis.Redis.from_url(cluster.redis.url, decode_responses=True)
    conn = await asyncpg.connect(cluster.database_url)
    try:
        # gone from the live index while open in the record
        await r.delete(keys.interaction(lost))
        await r.zrem(keys.queue(QUEUE), lost)
        # assigned twice: two history rows, accepted by two desks
        for agent in ("c1", "c2"):
            await conn.execute(
                "INSERT INTO interaction_history (interaction_id, status, agent_id) "
                "VALUES ($1, 'assigned', $2)",
                doubled,
                agent,
            )
            ledger.accepts[doubled].append(agent)
        # an agent available with free capacity on the queue, and the interactions still waiting
        await r.hset(keys.agent("c3"), mapping={"connected": "1", "cap:chat": "3", "load:chat": "0"})
        await r.zadd(keys.queue_avail(QUEUE), {"c3": 0})
        found = await audit(cluster.database_url, cluster.redis.url, cluster.namespace, ledger, [])
    finally:
        await conn.close()
        await r.aclose()

    assert len(found.lost) == 1 and found.lost[0].startswith(lost), found.lost
    assert {d.split(":")[0] for d in found.duplicated} == {doubled}, found.duplicated
    assert len(found.duplicated) == 2, "the history rows and the two accepts"
    stuck = {s.split(":")[0] for s in found.stuck if "eligible agent has free capacity" in s}
    assert stuck == {doubled, waiting}, found.stuck
