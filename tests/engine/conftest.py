"""Engine fixtures: the Lua scripts against real Redis (the session's, see ``redis_url``), on a fresh
namespace per test; no HTTP server, no PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from router.routing.engine import Engine
from tests.support.engine import Live, Stream


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def engine(redis_client: aioredis.Redis, namespace: str) -> AsyncIterator[Engine]:
    """An engine on the test's own namespace, its index marked built; every key of the namespace is
    removed at the end."""
    eng = Engine(redis_client, namespace)
    await redis_client.set(eng.keys.built, "test")
    yield eng
    await eng.close()
    keys = [k async for k in redis_client.scan_iter(match=f"{eng.keys.prefix}:*", count=1000)]
    for k in range(0, len(keys), 500):
        await redis_client.delete(*keys[k : k + 500])


@pytest.fixture
def live(engine: Engine) -> Live:
    return Live(engine)


@pytest.fixture
def stream(engine: Engine) -> Stream:
    return Stream(engine)
