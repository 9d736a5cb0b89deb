"""Webhooks and the outbox of their deliveries (migration 0012). A webhook belongs to one routing domain
(namespace): it is listed, deleted and fed only there.

The fan-out copies stream events into deliveries under the stream's cursor lock (one process at a time,
the cursor moved in the same transaction); the senders claim due deliveries with a lease, each the oldest
pending one of its webhook and ordering key, so an interaction's events go out in order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from context_store.db import Conn, q
from context_store.records import (
    DeliveryClaim,
    DeliveryInfo,
    Webhook,
    WebhookSubscription,
    from_row,
    from_row_or_none,
)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    webhook_id: uuid.UUID
    event_id: str
    event_ms: int
    event_seq: int
    type: str
    order_key: str
    body: str


async def insert(
    conn: Conn, namespace: str, url: str, events: Sequence[str], secret: str, description: str | None
) -> Webhook:
    row = await conn.fetchrow(q("webhook_insert"), url, list(events), secret, description, namespace)
    return from_row(Webhook, row)


async def all_webhooks(conn: Conn, namespace: str) -> list[Webhook]:
    return [from_row(Webhook, r) for r in await conn.fetch(q("webhooks_all"), namespace)]


async def get(conn: Conn, namespace: str, webhook_id: uuid.UUID) -> Webhook | None:
    return from_row_or_none(Webhook, await conn.fetchrow(q("webhook_get"), webhook_id, namespace))


async def delete(conn: Conn, namespace: str, webhook_id: uuid.UUID) -> bool:
    return await conn.fetchval(q("webhook_delete"), webhook_id, namespace) is not None


async def subscriptions(conn: Conn, namespace: str) -> list[WebhookSubscription]:
    rows = await conn.fetch(q("webhook_subscriptions"), namespace)
    return [from_row(WebhookSubscription, r) for r in rows]


async def init_cursor(conn: Conn, stream: str, last_id: str) -> None:
    await conn.execute(q("webhook_cursor_init"), stream, last_id)


async def lock_cursor(conn: Conn, stream: str) -> str | None:
    """The stream's cursor, locked until the end of the transaction ``conn`` is in; None when another
    process holds it (or it does not exist yet)."""
    value = await conn.fetchval(q("webhook_cursor_lock"), stream)
    return None if value is None else str(value)


async def set_cursor(conn: Conn, stream: str, last_id: str) -> None:
    await conn.execute(q("webhook_cursor_set"), stream, last_id)


async def enqueue(conn: Conn, deliveries: Sequence[NewDelivery], retry_for_seconds: float) -> None:
    if not deliveries:
        return
    await conn.execute(
        q("webhook_deliveries_enqueue"),
        [d.webhook_id for d in deliveries],
        [d.event_id for d in deliveries],
        [d.event_ms for d in deliveries],
        [d.event_seq for d in deliveries],
        [d.type for d in deliveries],
        [d.order_key for d in deliveries],
        [d.body for d in deliveries],
        retry_for_seconds,
    )


async def claim(conn: Conn, limit: int, lease_seconds: float) -> list[DeliveryClaim]:
    return [
        from_row(DeliveryClaim, r)
        for r in await conn.fetch(q("webhook_deliveries_claim"), limit, lease_seconds)
    ]


async def done(conn: Conn, seq: int, generation: int, status: int) -> None:
    await conn.execute(q("webhook_delivery_done"), seq, generation, status)


async def retry(
    conn: Conn, seq: int, generation: int, delay_seconds: float, status: int | None, error: str
) -> str | None:
    """Schedule the next attempt; returns the delivery's status (``failed`` once its window is over), or
    None when it was replayed or deleted meanwhile."""
    value = await conn.fetchval(q("webhook_delivery_retry"), seq, generation, delay_seconds, status, error)
    return None if value is None else str(value)


async def deliveries(
    conn: Conn, webhook_id: uuid.UUID, after: tuple[int, int], status: str | None, limit: int
) -> list[DeliveryInfo]:
    rows = await conn.fetch(q("webhook_deliveries_list"), webhook_id, after[0], after[1], status, limit)
    return [from_row(DeliveryInfo, r) for r in rows]


async def replay(conn: Conn, webhook_id: uuid.UUID, after: tuple[int, int], retry_for_seconds: float) -> int:
    return int(
        await conn.fetchval(q("webhook_deliveries_replay"), webhook_id, after[0], after[1], retry_for_seconds)
    )


async def prune(conn: Conn, keep_seconds: float, limit: int = 10_000) -> int:
    """Forget deliveries that are over and older than ``keep_seconds``; how many were forgotten."""
    return int(await conn.fetchval(q("webhook_deliveries_prune"), keep_seconds, limit))
