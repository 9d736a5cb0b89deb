"""The routing directory's records: queues, agents, rules and tokens (declarative upserts)."""

from __future__ import annotations

import asyncpg
import pytest

from context_store import agents, queues, rules, tokens
from context_store.db import ping
from context_store.records import AgentRecord, QueueRecord, RuleRecord, TokenRecord


async def test_queue_upsert_creates_then_replaces(pool: asyncpg.Pool) -> None:
    sales = QueueRecord("sales", "Sales", {"sales": 2}, ["chat", "voice"], 5, 20.0, 30.0, 20.0)
    await queues.upsert(pool, sales)
    await queues.upsert(pool, QueueRecord("a", None, {}, ["email"], 0, 1.5, 0.0, 60.0))
    assert await queues.list_all(pool) == [QueueRecord("a", None, {}, ["email"], 0, 1.5, 0.0, 60.0), sales]
    changed = QueueRecord("sales", "Sales EU", {}, ["chat"], 1, 10.0, 5.0, 15.0)
    await queues.upsert(pool, changed)
    assert (await queues.list_all(pool))[1] == changed


async def test_agent_upsert_creates_then_replaces(pool: asyncpg.Pool) -> None:
    ana = AgentRecord("ana", "Ana", {"sales": 3}, {"chat": 3, "voice": 1}, True, "client:ana")
    await agents.upsert(pool, ana)
    assert await agents.list_all(pool) == [ana]
    await agents.upsert(pool, AgentRecord("ana", "Ana B", {}, {}, False, None))
    assert await agents.list_all(pool) == [AgentRecord("ana", "Ana B", {}, {}, False, None)]


async def test_rules_are_replaced_whole_and_kept_in_order(pool: asyncpg.Pool) -> None:
    await rules.replace(pool, [({"channel": "voice"}, "calls"), ({"lang": ["es", "pt"]}, "latam")])
    assert await rules.list_all(pool) == [
        RuleRecord(0, {"channel": "voice"}, "calls"),
        RuleRecord(1, {"lang": ["es", "pt"]}, "latam"),
    ]
    await rules.replace(pool, [({}, "default")])
    assert await rules.list_all(pool) == [RuleRecord(0, {}, "default")]
    await rules.replace(pool, [])
    assert await rules.list_all(pool) == []


async def test_tokens_by_hash_and_the_agent_binding_is_enforced(pool: asyncpg.Pool) -> None:
    await tokens.insert(pool, "h1", "agent", "ana", "ana's desktop")
    await tokens.insert(pool, "h2", "supervisor", None, None)
    assert await tokens.get(pool, "h1") == TokenRecord("agent", "ana")
    assert await tokens.get(pool, "h2") == TokenRecord("supervisor", None)
    assert await tokens.get(pool, "nope") is None
    await tokens.insert(pool, "h1", "adapter", None, "reissued")
    assert await tokens.get(pool, "h1") == TokenRecord("adapter", None)
    with pytest.raises(asyncpg.CheckViolationError):
        await tokens.insert(pool, "h3", "agent", None, None)
    with pytest.raises(asyncpg.CheckViolationError):
        await tokens.insert(pool, "h4", "root", None, None)


async def test_ping(pool: asyncpg.Pool) -> None:
    await ping(pool)
    await pool.close()
    with pytest.raises(asyncpg.InterfaceError):
        await ping(pool)
