"""The customer's journey: timestamped events across every channel (what a bot or IVR collected, a
completed interaction, a transfer, the pages a visitor browsed…).

A customer's journey is bounded: each insert runs under the customer's journey lock and drops the
oldest events (by ``at``) beyond the cap in the same transaction, so however many writers race, no
committed state holds more than ``cap`` events of one customer. The journey lock is always the last lock
a transaction takes (after identity keys and interaction rows), so it closes no cycle.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from context_store.db import Conn, as_uuid, lock_key, q
from context_store.errors import RecordNotFound
from context_store.records import JourneyEvent, JSONObject, from_row

DEFAULT_JOURNEY_CAP = 500
"""Journey events kept per customer unless ``[identity] journey_cap`` says otherwise."""


async def add_event(
    conn: Conn,
    customer_id: uuid.UUID | str,
    type_: str,
    data: JSONObject,
    *,
    interaction_id: uuid.UUID | str | None = None,
    at: datetime | None = None,
    cap: int = DEFAULT_JOURNEY_CAP,
) -> JourneyEvent:
    """Record an event (``at`` defaults to now), then drop the customer's oldest events beyond ``cap``.

    Raises :class:`RecordNotFound` when the customer does not exist or was erased (nothing is stored).
    """
    if at is None:
        # the usual case, an event of now, is the newest: the lock, the insert and the trim are one call
        # (one statement, atomic without a transaction of its own)
        return await _insert(
            conn, "journey_event_insert_capped", as_uuid(customer_id), type_, data, interaction_id, cap
        )
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as c, c.transaction():
            return await _add(c, as_uuid(customer_id), type_, data, interaction_id, at, cap)
    if conn.is_in_transaction():
        # part of the caller's transaction, which commits or fails with it: no savepoint (two more round
        # trips) around it
        return await _add(conn, as_uuid(customer_id), type_, data, interaction_id, at, cap)
    async with conn.transaction():
        return await _add(conn, as_uuid(customer_id), type_, data, interaction_id, at, cap)


async def _add(
    conn: asyncpg.Connection,
    customer_id: uuid.UUID,
    type_: str,
    data: JSONObject,
    interaction_id: uuid.UUID | str | None,
    at: datetime,
    cap: int,
) -> JourneyEvent:
    """An event at a given time (not always the newest): inserted, then the journey trimmed, under the
    customer's journey lock held until the caller's transaction ends."""
    await lock_key(conn, f"journey:{customer_id}")
    event = await _insert(conn, "journey_event_insert", customer_id, type_, data, interaction_id, at)
    await trim(conn, customer_id, cap)  # the lock is held already: taking it again is a no-op
    return event


async def _insert(
    conn: Conn,
    query: str,
    customer_id: uuid.UUID,
    type_: str,
    data: JSONObject,
    interaction_id: uuid.UUID | str | None,
    last: datetime | int,
) -> JourneyEvent:
    """Run one of the two insert queries (their last parameter: the event's time, or the cap)."""
    row = await conn.fetchrow(
        q(query),
        uuid.uuid4(),
        customer_id,
        None if interaction_id is None else as_uuid(interaction_id),
        type_,
        data,
        last,
    )
    if row is None:
        raise RecordNotFound(f"customer {customer_id} not found")
    return from_row(JourneyEvent, row)


async def trim(conn: Conn, customer_id: uuid.UUID, cap: int) -> int:
    """Drop the customer's oldest events beyond ``cap``, under the customer's journey lock (held until
    the caller's transaction ends, when there is one): for events written by other statements, such as
    the ``interaction.created`` event of a new interaction. How many were dropped."""
    return int(await conn.fetchval(q("journey_trim_locked"), customer_id, cap))
