"""Customers' contact preferences and campaigns (migration 0017): the campaign, its recipients keyed
(campaign, customer), claimed one at a time with ``FOR UPDATE SKIP LOCKED`` inside the transaction that
records what became of them."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from context_store.db import Conn, q
from context_store.records import (
    CampaignRecord,
    CustomerPreferences,
    JSONObject,
    RecipientRecord,
    ReplyTarget,
    from_row,
    from_row_or_none,
)


async def preferences(conn: Conn, customer_id: uuid.UUID) -> CustomerPreferences | None:
    return from_row_or_none(CustomerPreferences, await conn.fetchrow(q("preferences_get"), customer_id))


async def set_preferences(
    conn: Conn,
    customer_id: uuid.UUID,
    values: dict[str, str | None],
    updated_by: str,
) -> CustomerPreferences:
    """Set the preferences named in ``values`` (``None`` clears one); the others stay."""
    row = await conn.fetchrow(
        q("preferences_upsert"),
        customer_id,
        values.get("preferred_channel"),
        values.get("timezone"),
        values.get("language"),
        updated_by,
        list(values),
    )
    return from_row(CustomerPreferences, row)


async def create(
    conn: asyncpg.Connection,
    campaign_id: str,
    namespace: str,
    purpose: str,
    spec: JSONObject,
    rate_per_second: float,
    start_at: datetime | None,
    created_by: str,
    customer_ids: list[uuid.UUID],
) -> CampaignRecord | None:
    """The new campaign with its audience (one transaction); None when the id is taken."""
    row = await conn.fetchrow(
        q("campaign_insert"), campaign_id, namespace, purpose, spec, rate_per_second, start_at, created_by
    )
    if row is None:
        return None
    await conn.execute(q("campaign_recipients_insert"), campaign_id, customer_ids)
    return from_row(CampaignRecord, row)


async def get(conn: Conn, campaign_id: str, namespace: str) -> CampaignRecord | None:
    return from_row_or_none(CampaignRecord, await conn.fetchrow(q("campaign_get"), campaign_id, namespace))


async def set_status(
    conn: Conn, campaign_id: str, namespace: str, status: str, from_statuses: list[str]
) -> CampaignRecord | None:
    row = await conn.fetchrow(q("campaign_set_status"), campaign_id, namespace, status, from_statuses)
    return from_row_or_none(CampaignRecord, row)


async def due(conn: Conn, namespace: str) -> list[str]:
    return [r["id"] for r in await conn.fetch(q("campaigns_due"), namespace)]


async def claim(conn: asyncpg.Connection, campaign_id: str) -> tuple[uuid.UUID, str] | None:
    """One due recipient (customer id, status), locked until the caller's transaction ends."""
    row = await conn.fetchrow(q("campaign_claim"), campaign_id)
    return None if row is None else (row["customer_id"], row["status"])


async def decide(
    conn: Conn,
    campaign_id: str,
    customer_id: uuid.UUID,
    status: str,
    channel: str | None,
    detail: str | None,
    next_at: datetime | None = None,
) -> None:
    await conn.execute(
        q("campaign_recipient_decide"), campaign_id, customer_id, status, channel, detail, next_at, next_at
    )


async def sending(
    conn: Conn,
    campaign_id: str,
    customer_id: uuid.UUID,
    channel: str,
    interaction_id: uuid.UUID,
    message_id: uuid.UUID,
    node: str,
) -> None:
    await conn.execute(
        q("campaign_recipient_sending"), campaign_id, customer_id, channel, interaction_id, message_id, node
    )


async def handed(conn: Conn, message_id: uuid.UUID, status: str, detail: str | None) -> None:
    await conn.execute(q("campaign_recipient_handed"), message_id, status, detail)


async def close_interrupted(
    conn: Conn, campaign_id: str, lease_seconds: float
) -> list[tuple[uuid.UUID, str]]:
    rows = await conn.fetch(q("campaign_recipients_interrupted"), campaign_id, lease_seconds)
    return [(r["customer_id"], r["status"]) for r in rows]


async def left(conn: Conn, campaign_id: str) -> int:
    return int(await conn.fetchval(q("campaign_recipients_left"), campaign_id))


async def counts(conn: Conn, campaign_id: str) -> dict[str, int]:
    return {r["outcome"]: int(r["n"]) for r in await conn.fetch(q("campaign_counts"), campaign_id)}


async def recipients(
    conn: Conn, campaign_id: str, status: str | None, limit: int, offset: int
) -> list[RecipientRecord]:
    rows = await conn.fetch(q("campaign_recipients_list"), campaign_id, status, limit, offset)
    return [from_row(RecipientRecord, r) for r in rows]


async def reply_target(
    conn: asyncpg.Connection, customer_id: uuid.UUID, namespace: str, hours: float
) -> ReplyTarget | None:
    row = await conn.fetchrow(q("campaign_reply_target"), customer_id, namespace, hours)
    return from_row_or_none(ReplyTarget, row)


async def replied(
    conn: Conn, campaign_id: str, customer_id: uuid.UUID, reply_interaction_id: uuid.UUID
) -> None:
    await conn.execute(q("campaign_recipient_replied"), campaign_id, customer_id, reply_interaction_id)


async def opted_out(conn: Conn, customer_id: uuid.UUID, namespace: str, purposes: list[str]) -> list[str]:
    """Mark the customer's sent messages of running campaigns for these purposes as opted out; the
    campaigns."""
    rows = await conn.fetch(q("campaign_recipient_opted_out"), customer_id, namespace, purposes)
    return [r["campaign_id"] for r in rows]


async def whatsapp_last_inbound(conn: Conn, customer_id: uuid.UUID) -> datetime | None:
    value: datetime | None = await conn.fetchval(q("whatsapp_last_inbound"), customer_id)
    return value
