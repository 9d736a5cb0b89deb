"""Messages of interactions, both ways, and the delivery status of agents' replies.

A provider message id is unique per channel: storing it again is a retry, answered with nothing new.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from context_store.db import Conn, as_uuid, lock_key, q
from context_store.errors import Duplicate
from context_store.records import JSONObject, Message, MessageStatus, from_row_or_none


async def insert(
    conn: Conn,
    *,
    interaction_id: uuid.UUID | str,
    conversation_id: uuid.UUID | str,
    channel: str,
    direction: str,
    body: str,
    agent_id: str | None = None,
    external_id: str | None = None,
    status: str | None = None,
    attachments: list[JSONObject] | None = None,
) -> Message | None:
    """Store a message; None when one with that provider id is already stored on the channel."""
    row = await conn.fetchrow(
        q("message_insert"),
        uuid.uuid4(),
        as_uuid(interaction_id),
        as_uuid(conversation_id),
        channel,
        direction,
        body,
        agent_id,
        external_id,
        status,
        attachments or [],
    )
    return from_row_or_none(Message, row)


async def insert_held(
    conn: Conn,
    *,
    namespace: str,
    interaction_id: uuid.UUID | str,
    agent_id: str,
    body: str,
    external_id: str | None = None,
    attachments: list[JSONObject] | None = None,
) -> Message | None:
    """Store an agent's reply in an interaction that agent (of the domain) holds now (assigned or in
    wrap-up), atomically with that check; None when the agent does not hold it (or the provider id is stored
    already)."""
    row = await conn.fetchrow(
        q("message_insert_held"),
        uuid.uuid4(),
        as_uuid(interaction_id),
        agent_id,
        body,
        external_id,
        attachments or [],
        namespace,
    )
    return from_row_or_none(Message, row)


async def get(conn: Conn, message_id: uuid.UUID | str) -> Message | None:
    return from_row_or_none(Message, await conn.fetchrow(q("message_get"), as_uuid(message_id)))


async def get_by_external(conn: Conn, channel: str, external_id: str) -> Message | None:
    return from_row_or_none(Message, await conn.fetchrow(q("message_get_by_external"), channel, external_id))


async def lock_external_id(conn: asyncpg.Connection, channel: str, external_id: str) -> None:
    """Serialize work on one provider message id until the transaction ends (then look it up)."""
    await lock_key(conn, external_id_lock(channel, external_id))


def external_id_lock(channel: str, external_id: str) -> str:
    """The lock key of :func:`lock_external_id` (for taking it with others in one statement)."""
    return f"msg:{channel}:{external_id}"


async def set_status(
    conn: Conn,
    message_id: uuid.UUID | str,
    status: str,
    detail: str | None,
    external_id: str | None = None,
) -> MessageStatus | None:
    """Record delivery progress of an outbound message (and the provider's id, when given). None when
    the message does not exist or the status would move back (sent < delivered < read; failed is
    final). Receipts that came for the provider id before it was known are applied now, so the record
    returned carries the furthest status. Raises :class:`Duplicate` when ``external_id`` is another
    message's on the channel (and nothing changes)."""
    if external_id is None:
        row = await conn.fetchrow(q("message_set_status"), as_uuid(message_id), status, detail, None)
        return from_row_or_none(MessageStatus, row)
    async with _transaction(conn) as tx:
        await lock_key(tx, f"receipt:{external_id}")
        try:
            row = await tx.fetchrow(q("message_set_status"), as_uuid(message_id), status, detail, external_id)
        except asyncpg.UniqueViolationError as exc:
            raise Duplicate(f"provider id {external_id!r} belongs to another message") from exc
        changed = from_row_or_none(MessageStatus, row)
        parked = sorted(await tx.fetch(q("early_receipts_take"), external_id), key=lambda r: r["received_at"])
        for receipt in parked:
            later = await tx.fetch(
                q("message_status_by_external"), external_id, receipt["status"], receipt["detail"]
            )
            changed = next((MessageStatus(**r) for r in later), changed)
        return changed


async def set_status_by_external(
    conn: Conn, external_id: str, status: str, detail: str | None
) -> list[MessageStatus]:
    """A provider receipt: every outbound message with that provider id whose status moves forward. A
    receipt for an id not recorded yet is kept and applied when :func:`set_status` records it."""
    async with _transaction(conn) as tx:
        await lock_key(tx, f"receipt:{external_id}")
        rows = await tx.fetch(q("message_status_by_external"), external_id, status, detail)
        if not rows and not await tx.fetchval(q("message_external_known"), external_id):
            await tx.execute(q("early_receipt_park"), external_id, status, detail)
        return [MessageStatus(**r) for r in rows]


@contextlib.asynccontextmanager
async def _transaction(conn: Conn) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on ``conn``, or on a connection of it when it is a pool."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as c, c.transaction():
            yield c
    else:
        async with conn.transaction():
            yield conn


async def pending_ids(conn: Conn, namespace: str) -> list[uuid.UUID]:
    """Outbound messages of the domain's interactions not yet handed to an adapter, oldest first (at most
    500)."""
    return [r["id"] for r in await conn.fetch(q("messages_pending"), namespace)]


async def channel_of(conn: Conn, message_id: uuid.UUID | str) -> str | None:
    """The channel the message goes by (a survey texted after a call is an ``sms`` message of the call);
    None when there is no such message."""
    channel: str | None = await conn.fetchval(q("message_channel"), as_uuid(message_id))
    return channel
