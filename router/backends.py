"""Connections to the two backends: PostgreSQL (the record) and Redis (the live index)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import urlsplit

import asyncpg
import redis.asyncio as aioredis
import redis.exceptions
import structlog
from aiohttp import web

log = structlog.get_logger("router.backends")

POOL = web.AppKey("pool", asyncpg.Pool)
REPORTS_POOL = web.AppKey("reports_pool", asyncpg.Pool)
"""Where reports, KPIs and other long reads go: a pool on a read replica when ``REPORTS_DATABASE_URL`` (or
``[reports] database_url``) is set, else the main pool itself."""

RedisClient: TypeAlias = "aioredis.Redis | aioredis.RedisCluster"
"""The live index's client: one server (``redis://``) or a Redis Cluster (``redis+cluster://``). Every use
works on both: each script call and pipeline touches one routing domain, whose keys share the hash tag
``{namespace}`` and so one slot (``router/routing/keys.py``)."""

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
# a cluster client keeps a pool per node that raises MaxConnectionsError when full instead of waiting, so it
# gets room for the bursts the single server's blocking pool (64) queues; blocking stream reads hold one each
CLUSTER_MAX_CONNECTIONS = 512


class RedisCommandCount:
    """Round trips this process made to Redis through :func:`redis_client`: one per command sent, one per
    pipeline (its commands go out in one write and their answers come back together), one per script call
    (``EVALSHA``; a ``NOSCRIPT`` retry adds two): ``omniroute_redis_commands_total``. On a single server; a
    Redis Cluster client (its own pool per node) is not counted, the counter stays at 0."""

    value = 0


class _Counted:
    """Mixed into the pool's connection class (TCP, TLS or Unix socket, as the URL chose): counts each
    write of one command or one pipeline."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        RedisCommandCount.value += 1
        await super().send_packed_command(command, check_health)  # type: ignore[misc]


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def _node_url(url: str) -> str:
    """A cluster URL as redis-py reads it: the scheme without ``+cluster`` (the host is one startup node;
    the client discovers the others from it)."""
    parts = urlsplit(url)
    return parts._replace(scheme=CLUSTER_SCHEMES[parts.scheme]).geturl()


def redis_client(url: str) -> RedisClient:
    """``redis+cluster://host:port`` (or ``rediss+cluster://``): a Redis Cluster client. Otherwise a client on
    a blocking pool: a burst (thousands of desktops reconnecting at once) waits for a connection instead of
    failing with MaxConnectionsError."""
    if is_cluster_url(url):
        return aioredis.RedisCluster.from_url(
            _node_url(url),
            decode_responses=True,
            health_check_interval=10,
            max_connections=CLUSTER_MAX_CONNECTIONS,
        )
    pool = aioredis.BlockingConnectionPool.from_url(
        url, decode_responses=True, health_check_interval=10, max_connections=64, timeout=30
    )
    base = pool.connection_class
    pool.connection_class = type(f"Counted{base.__name__}", (_Counted, base), {})
    return aioredis.Redis(connection_pool=pool)


async def close_redis(client: RedisClient) -> None:
    if isinstance(client, aioredis.RedisCluster):
        await client.aclose()  # every node's connections
    else:
        await client.aclose(close_connection_pool=True)  # the pool was given, so it is not closed by default


# What a lost connection to PostgreSQL or Redis raises: answered 503 over HTTP, an error frame on a socket
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    # a pooled connection whose server shut down mid-protocol ("cannot switch to state …")
    asyncpg.InternalClientError,
    # PostgreSQL is up but has no connection left for this process (max_connections reached): try again
    asyncpg.TooManyConnectionsError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    # a Redis Cluster during a failover (the slot's master is gone and no replica has taken over yet) or a
    # slot migration
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.SlotNotCoveredError,
)


class BackendUnavailable(Exception):
    """A backend did not answer within the start-up wait."""


def where(url: str) -> str:
    """``host:port`` of a backend URL: what an operator needs, without the credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or ''}".rstrip(":")


async def _postgres_answers(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    await conn.close()


async def _redis_answers(url: str) -> None:
    if is_cluster_url(url):
        cluster = aioredis.RedisCluster.from_url(_node_url(url), socket_connect_timeout=5, socket_timeout=5)
        try:
            await cluster.ping()  # every master answers (redis-py sends PING to all of them)
        finally:
            await cluster.aclose()
        return
    client = aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def wait_for_backends(database_url: str, redis_url: str, wait_seconds: float) -> None:
    """Wait until PostgreSQL and Redis both answer, retrying with a growing delay (0.25 s, doubling, at most
    5 s) for at most ``wait_seconds``; a container started beside its database need not win the race."""
    deadline = time.monotonic() + wait_seconds
    checks = (("PostgreSQL", database_url, _postgres_answers), ("Redis", redis_url, _redis_answers))
    for name, url, check in checks:
        delay = 0.25
        while True:
            try:
                await check(url)
                break
            except (TimeoutError, OSError, asyncpg.PostgresError, redis.exceptions.RedisError) as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BackendUnavailable(
                        f"{name} at {where(url)} did not answer within {wait_seconds:g} s "
                        f"({type(exc).__name__})"
                    ) from exc
                log.warning("backend.waiting", backend=name, at=where(url), error=type(exc).__name__)
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 5.0)
