"""The routing directory's records: queues, agents, rules and tokens (declarative upserts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from context_store import agents, queues, rules, tokens
from context_store.db import ping
from context_store.records import AgentRecord, QueueRecord, RuleRecord, TokenRecord
from tests.store.conftest import NS


async def test_queue_upsert_creates_then_replaces(pool: asyncpg.Pool) -> None:
    sales = QueueRecord(
        "sales", "Sales", {"sales": 2}, ["chat", "voice"], 5, 20.0, 30.0, 20.0, ["sold", "no_sale"]
    )
    await queues.upsert(pool, NS, sales)
    await queues.upsert(pool, NS, QueueRecord("a", None, {}, ["email"], 0, 1.5, 0.0, 60.0, []))
    assert await queues.list_all(pool, NS) == [
        QueueRecord("a", None, {}, ["email"], 0, 1.5, 0.0, 60.0, []),
        sales,
    ]
    changed = QueueRecord("sales", "Sales EU", {}, ["chat"], 1, 10.0, 5.0, 15.0, ["sold"])
    await queues.upsert(pool, NS, changed)
    assert (await queues.list_all(pool, NS))[1] == changed


async def test_agent_upsert_creates_then_replaces(pool: asyncpg.Pool) -> None:
    ana = AgentRecord("ana", "Ana", {"sales": 3}, {"chat": 3, "voice": 1}, True, "client:ana")
    await agents.upsert(pool, NS, ana)
    assert await agents.list_all(pool, NS) == [ana]
    await agents.upsert(pool, NS, AgentRecord("ana", "Ana B", {}, {}, False, None))
    assert await agents.list_all(pool, NS) == [AgentRecord("ana", "Ana B", {}, {}, False, None)]


async def test_rules_are_replaced_whole_and_kept_in_order(pool: asyncpg.Pool) -> None:
    await rules.replace(pool, NS, [({"channel": "voice"}, "calls"), ({"lang": ["es", "pt"]}, "latam")])
    assert await rules.list_all(pool, NS) == [
        RuleRecord(0, {"channel": "voice"}, "calls"),
        RuleRecord(1, {"lang": ["es", "pt"]}, "latam"),
    ]
    await rules.replace(pool, NS, [({}, "default")])
    assert await rules.list_all(pool, NS) == [RuleRecord(0, {}, "default")]
    await rules.replace(pool, NS, [])
    assert await rules.list_all(pool, NS) == []


async def test_tokens_by_hash_and_the_agent_binding_is_enforced(pool: asyncpg.Pool) -> None:
    ana = await tokens.insert(pool, NS, "h1", "agent", "ana", "ana's desktop")
    sup = await tokens.insert(pool, NS, "h2", "supervisor", None, None)
    assert await tokens.get(pool, NS, "h1") == TokenRecord(ana.id, "agent", "ana", None)
    assert await tokens.get(pool, NS, "h2") == TokenRecord(sup.id, "supervisor", None, None)
    assert await tokens.get(pool, NS, "nope") is None
    with pytest.raises(asyncpg.UniqueViolationError):  # a new token never replaces a stored one
        await tokens.insert(pool, NS, "h1", "adapter", None, "reissued")
    reissued = await tokens.upsert_from_file(pool, NS, "h1", "adapter", None, "reissued")
    assert (reissued.id, reissued.source) == (ana.id, "file")
    assert await tokens.get(pool, NS, "h1") == TokenRecord(ana.id, "adapter", None, None)
    with pytest.raises(asyncpg.CheckViolationError):
        await tokens.insert(pool, NS, "h3", "agent", None, None)
    with pytest.raises(asyncpg.CheckViolationError):
        await tokens.insert(pool, NS, "h4", "root", None, None)


async def test_revoked_and_expired_tokens_are_not_found_but_listed(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    live = await tokens.insert(pool, NS, "live", "supervisor", None, "wallboard", now + timedelta(hours=1))
    old = await tokens.insert(pool, NS, "old", "adapter", None, None, now - timedelta(seconds=1))
    gone = await tokens.insert(pool, NS, "gone", "adapter", None, None)
    assert await tokens.get(pool, NS, "live") == TokenRecord(live.id, "supervisor", None, live.expires_at)
    assert await tokens.get(pool, NS, "old") is None
    revoked = await tokens.revoke(pool, NS, gone.id)
    assert revoked is not None and revoked.revoked_at is not None
    assert await tokens.get(pool, NS, "gone") is None
    again = await tokens.revoke(pool, NS, gone.id)
    assert again is not None and again.revoked_at == revoked.revoked_at
    assert await tokens.revoke(pool, NS, uuid.uuid4()) is None
    never = uuid.uuid4()
    assert set(await tokens.revoked_among(pool, NS, [live.id, old.id, gone.id, never])) == {gone.id, never}
    listed = {t.id: t for t in await tokens.all_tokens(pool, NS)}
    assert set(listed) == {live.id, old.id, gone.id}
    assert listed[gone.id].revoked_at == revoked.revoked_at
    assert listed[live.id].name == "wallboard" and listed[live.id].revoked_at is None


async def test_file_tokens_no_longer_in_the_file_are_revoked(pool: asyncpg.Pool) -> None:
    kept = await tokens.upsert_from_file(pool, NS, "kept", "supervisor", None, None)
    dropped = await tokens.upsert_from_file(pool, NS, "dropped", "adapter", None, None)
    api = await tokens.insert(pool, NS, "api", "adapter", None, None)
    revoked = await tokens.revoke_file_tokens_except(pool, NS, ["kept"])
    assert [t.id for t in revoked] == [dropped.id]
    assert await tokens.get(pool, NS, "dropped") is None
    assert await tokens.get(pool, NS, "kept") is not None and await tokens.get(pool, NS, "api") is not None
    assert (kept.source, api.source) == ("file", "api")
    # named in the file again, a revoked token stays revoked
    back = await tokens.upsert_from_file(pool, NS, "dropped", "adapter", None, None)
    assert back.revoked_at is not None and await tokens.get(pool, NS, "dropped") is None


async def test_ping(pool: asyncpg.Pool) -> None:
    await ping(pool)
    await pool.close()
    with pytest.raises(asyncpg.InterfaceError):
        await ping(pool)
