"""Routing rules: attribute conditions that choose an interaction's queue, first match wins."""

from __future__ import annotations

import asyncpg

from context_store.db import Conn, q
from context_store.records import JSONObject, RuleRecord


async def replace(pool: asyncpg.Pool, rules: list[tuple[JSONObject, str]]) -> None:
    """Replace every rule, in one transaction, by ``(when, queue_id)`` pairs in order."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q("rules_replace_delete"))
        for position, (when, queue_id) in enumerate(rules):
            await conn.execute(q("rule_insert"), position, when, queue_id)


async def list_all(conn: Conn) -> list[RuleRecord]:
    """The rules in order."""
    return [RuleRecord(**r) for r in await conn.fetch(q("rules_all"))]
