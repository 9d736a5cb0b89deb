"""campaign_rate.lua: one booking per interval per campaign, whichever client asks, on Redis's clock."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from router.routing.engine import Engine


async def test_sends_are_booked_one_interval_apart_across_clients(
    engine: Engine, redis_client: aioredis.Redis
) -> None:
    other = Engine(redis_client, engine.namespace)  # another process's engine on the same domain
    assert await engine.campaign_rate("c", 10) == 0  # the first send goes at once
    wait = await other.campaign_rate("c", 10)
    assert 0 < wait <= 0.1  # the next goes 100 ms after the first, whichever process asks
    assert await engine.campaign_rate("other-campaign", 10) == 0  # each campaign has its own rate
    await asyncio.sleep(wait)
    assert await other.campaign_rate("c", 10) == 0
    assert await engine.campaign_rate("c", 10) > 0
    ttl = await redis_client.pttl(engine.keys.campaign_rate("c"))
    assert 0 < ttl <= 1100  # the booking expires soon after its interval
