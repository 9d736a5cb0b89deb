"""Connections to the two backends: PostgreSQL (the record) and Redis (the live index)."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

POOL = web.AppKey("pool", asyncpg.Pool)


def redis_client(url: str) -> aioredis.Redis:
    """A client on a blocking pool: a burst (thousands of desktops reconnecting at once) waits for a
    connection instead of failing with MaxConnectionsError."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, decode_responses=True, health_check_interval=10, max_connections=64, timeout=30
    )
    return aioredis.Redis(connection_pool=pool)
