"""Store tests: the context store's functions run against the machine's (or an embedded) PostgreSQL,
on a migrated schema emptied before each test."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Protocol

import asyncpg
import pytest

from context_store import customers, interactions
from context_store.db import Conn, create_pool, migrate
from context_store.records import Interaction

NS = "omniroute"
"""The routing domain the store tests write in, unless a test names another."""


class _Database(Protocol):
    database_url: str


# children before parents; a DELETE of these few rows costs a millisecond where a TRUNCATE costs tens
TABLES = (
    "campaign_recipients",
    "campaigns",
    "customer_preferences",
    "webhook_deliveries",
    "webhooks",
    "webhook_cursors",
    "consent_events",
    "quality_reviews",
    "supervisor_audit",
    "quality_forms",
    "routing_decisions",
    "offer_exclusions",
    "agent_states",
    "early_receipts",
    "survey_requests",
    "interaction_callbacks",
    "surveys",
    "interaction_history",
    "messages",
    "notes",
    "journey_events",
    "interactions",
    "conversations",
    "possible_matches",
    "erasures",
    "customer_merges",
    "identities",
    "customers",
    "routing_rules",
    "api_tokens",
    "agents",
    "queues",
)


@pytest.fixture
async def pool(services: _Database) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(services.database_url, min_size=1, max_size=10)
    try:
        await migrate(pool)
        tables = {
            r["tablename"]
            for r in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert tables - {"schema_migrations"} == set(TABLES), "a new table: add it to TABLES"
        await pool.execute("; ".join(f"DELETE FROM {t}" for t in TABLES))
        yield pool
    finally:
        await pool.close()


async def new_customer(pool: asyncpg.Pool, phone: str = "+15550100") -> uuid.UUID:
    async with pool.acquire() as conn, conn.transaction():
        return await customers.resolve_customer(conn, [("phone", phone)], phone=phone)


async def new_interaction(
    pool: Conn,
    customer_id: uuid.UUID,
    *,
    channel: str = "chat",
    external_id: str | None = None,
    queue_id: str = "support",
    conversation_id: uuid.UUID | None = None,
    priority: int = 0,
    venq_ms: int | None = None,
    namespace: str = NS,
) -> Interaction:
    return await interactions.create(
        pool,
        namespace=namespace,
        interaction_id=uuid.uuid4(),
        customer_id=customer_id,
        conversation_id=conversation_id or uuid.uuid4(),
        new_conversation=conversation_id is None,
        channel=channel,
        external_id=external_id or uuid.uuid4().hex,
        from_kind="phone",
        from_value="+15550100",
        queue_id=queue_id,
        priority=priority,
        attributes={"lang": "en"},
        subject=None,
        venq_ms=venq_ms if venq_ms is not None else int(time.time() * 1000),
    )
