"""Routing rules: attribute conditions that choose an interaction's queue, first match wins; one list per
routing domain (namespace)."""

from __future__ import annotations

import asyncpg

from context_store.db import Conn, q
from context_store.records import JSONObject, RuleRecord


async def replace(pool: asyncpg.Pool, namespace: str, rules: list[tuple[JSONObject, str]]) -> None:
    """Replace every rule of the domain, in one transaction, by ``(when, queue_id)`` pairs in order;
    processes starting together (``serve --workers``) do it one after the other."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q("rules_replace_lock"), namespace)
        await conn.execute(q("rules_replace_delete"), namespace)
        for position, (when, queue_id) in enumerate(rules):
            await conn.execute(q("rule_insert"), position, when, queue_id, namespace)


async def list_all(conn: Conn, namespace: str) -> list[RuleRecord]:
    """The domain's rules in order."""
    return [RuleRecord(**r) for r in await conn.fetch(q("rules_all"), namespace)]
