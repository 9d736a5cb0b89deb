"""Migrations: applied once, idempotent, concurrent starts safe, and the schema is what the queries use."""

from __future__ import annotations

import asyncio

import asyncpg

from context_store.db import QUERIES, create_pool, migrate, migration_files
from tests.support.servers import Services


async def test_migrations_apply_once_even_when_processes_start_together(services: Services) -> None:
    conn = await asyncpg.connect(services.database_url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    pools = [await create_pool(services.database_url, min_size=1, max_size=2) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(migrate(p) for p in pools))
        names = [n for _, n, _ in migration_files()]
        applied_names = sorted(n for batch in applied for n in batch)
        assert applied_names == sorted(names), "each migration applied exactly once"
        assert await migrate(pools[0]) == []
        # every named query is valid against the migrated schema
        async with pools[0].acquire() as c:
            for name, sql in QUERIES.items():
                if name == "lock_key":
                    continue
                await c.prepare(sql)
    finally:
        for p in pools:
            await p.close()
