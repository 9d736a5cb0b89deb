"""Routing configuration records: queues, agents, routing rules and API tokens."""

from __future__ import annotations

from typing import Any

import asyncpg

from context_store.db import q


async def upsert_queue(conn: asyncpg.Connection | asyncpg.Pool, queue_id: str, cfg: dict[str, Any]) -> None:
    await conn.execute(
        q("queue_upsert"),
        queue_id,
        cfg.get("name"),
        cfg["skills"],
        list(cfg["channels"]),
        cfg["priority"],
        float(cfg["offer_timeout_seconds"]),
        float(cfg["wrapup_seconds"]),
        float(cfg["service_level_seconds"]),
    )


async def all_queues(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(q("queues_all"))]


async def upsert_agent(conn: asyncpg.Connection | asyncpg.Pool, agent_id: str, cfg: dict[str, Any]) -> None:
    await conn.execute(
        q("agent_upsert"),
        agent_id,
        cfg["name"],
        cfg["skills"],
        cfg["capacity"],
        cfg["voice_blocks_other_channels"],
        cfg.get("address"),
    )


async def all_agents(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(q("agents_all"))]


async def replace_rules(pool: asyncpg.Pool, rules: list[dict[str, Any]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q("rules_replace_delete"))
        for pos, rule in enumerate(rules):
            await conn.execute(q("rule_insert"), pos, rule["when"], rule["queue"])


async def all_rules(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    return [{"when": r["when"], "queue": r["queue_id"]} for r in await conn.fetch(q("rules_all"))]


async def insert_token(
    conn: asyncpg.Connection | asyncpg.Pool,
    token_hash: str,
    role: str,
    agent_id: str | None,
    name: str | None,
) -> None:
    await conn.execute(q("token_insert"), token_hash, role, agent_id, name)


async def get_token(conn: asyncpg.Connection | asyncpg.Pool, token_hash: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(q("token_get"), token_hash)
    return dict(row) if row else None
