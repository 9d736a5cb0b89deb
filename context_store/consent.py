"""The consent ledger (migration 0012): append-only, the latest change of a (channel, purpose) is the
consent in force."""

from __future__ import annotations

import uuid

from context_store.db import Conn, q
from context_store.records import ConsentEvent, JSONObject, from_row


async def record(
    conn: Conn,
    customer_id: uuid.UUID,
    channel: str,
    purpose: str,
    status: str,
    source: str,
    evidence: JSONObject | None,
    actor: str,
) -> ConsentEvent:
    row = await conn.fetchrow(
        q("consent_insert"), customer_id, channel, purpose, status, source, evidence, actor
    )
    return from_row(ConsentEvent, row)


async def history(conn: Conn, customer_id: uuid.UUID) -> list[ConsentEvent]:
    return [from_row(ConsentEvent, r) for r in await conn.fetch(q("consent_history"), customer_id)]


async def current(conn: Conn, customer_id: uuid.UUID) -> list[ConsentEvent]:
    return [from_row(ConsentEvent, r) for r in await conn.fetch(q("consent_current"), customer_id)]
