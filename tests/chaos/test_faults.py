"""Fault runs under load: real router processes, desks accepting and completing work over the socket, an
adapter posting interactions and retrying failures with the same external id. Each run ends with the
audit (:func:`tests.chaos.load.audit`): 0 lost, 0 duplicated, 0 stuck, everything answered has ended
after the settle time, and it prints its figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from router.routing.keys import Keys
from tests.chaos.cluster import Cluster, Figures

pytestmark = pytest.mark.slow


def assert_whole(cluster: Cluster, fig: Figures) -> None:
    message = cluster.verdict(fig)
    assert fig.unanswered == 0 and fig.answered == fig.interactions, message
    assert (fig.lost, fig.duplicated, fig.stuck) == (0, 0, 0), message
    assert fig.still_open == 0, f"the run did not drain in the settle time\n{message}"


async def test_kill_9_of_the_router_under_load(cluster: Cluster, figures: Callable[[str], None]) -> None:
    """The only router dies without any cleanup and a supervisor starts it again a second later: the
    adapter's retries and the desks' reconnects carry every interaction through."""
    (router,) = await cluster.start_routers(1)

    async def fault(c: Cluster) -> tuple[float, float]:
        start = time.monotonic()
        router.kill()
        await asyncio.sleep(1.0)
        end = time.monotonic()
        await c.restart(router)
        return start, end

    fig = await cluster.run("kill -9 of the router", fault)
    figures(fig.line())
    assert_whole(cluster, fig)
    assert fig.connection_errors > 0 and fig.reconnects >= 8, cluster.verdict(fig)


async def test_redis_restarted_empty_under_load(cluster: Cluster, figures: Callable[[str], None]) -> None:
    """Redis is killed and started again with nothing in it: the routers rebuild the live index from
    PostgreSQL (waiting work at its place, held work on its agents) and put their desks back."""
    await cluster.start_routers(2)
    keys = Keys.for_namespace(cluster.namespace)
    r = aioredis.Redis.from_url(cluster.redis.url, decode_responses=True)
    try:
        generation = await r.get(keys.built)
    finally:
        await r.aclose()

    async def fault(c: Cluster) -> tuple[float, float]:
        start = time.monotonic()
        await asyncio.to_thread(c.redis.kill)
        await asyncio.sleep(1.0)
        end = time.monotonic()
        await asyncio.to_thread(c.redis.start)
        return start, end

    fig = await cluster.run("Redis restarted empty", fault)
    figures(fig.line())
    assert_whole(cluster, fig)
    r = aioredis.Redis.from_url(cluster.redis.url, decode_responses=True)
    try:
        assert await r.get(keys.built) not in (None, generation), "the live index was not rebuilt"
    finally:
        await r.aclose()


async def test_postgres_stopped_for_10_s_under_load(cluster: Cluster, figures: Callable[[str], None]) -> None:
    """PostgreSQL is stopped (fast shutdown: every session ended) for ten seconds while the load goes on:
    ingest answers 503 meanwhile, the adapter retries, and everything answered is routed and completed."""
    await cluster.start_routers(2)

    async def fault(c: Cluster) -> tuple[float, float]:
        start = time.monotonic()
        await asyncio.to_thread(c.postgres.down)
        await asyncio.sleep(10.0)
        end = time.monotonic()
        await asyncio.to_thread(c.postgres.up)
        return start, end

    fig = await cluster.run("PostgreSQL stopped for 10 s", fault)
    figures(fig.line())
    assert_whole(cluster, fig)
    assert fig.refused_503 > 0, cluster.verdict(fig)


async def test_one_of_two_routers_killed_under_load(cluster: Cluster, figures: Callable[[str], None]) -> None:
    """Two routers share the load; one is killed with kill -9 and not replaced. Its desks reconnect to the
    survivor, keep the work they held, and the adapter's retries go there too."""
    first, _ = await cluster.start_routers(2)

    async def fault(c: Cluster) -> tuple[float, float]:
        now = time.monotonic()
        first.kill()
        return now, now

    fig = await cluster.run("one of two routers killed", fault)
    figures(fig.line())
    assert_whole(cluster, fig)
    assert fig.connection_errors > 0 and fig.reconnects >= 4, cluster.verdict(fig)
