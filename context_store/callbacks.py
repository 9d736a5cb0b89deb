"""Callbacks that keep their place (migration 0015): which waiting interactions are callbacks, to which
number, and what became of each call."""

from __future__ import annotations

import uuid
from datetime import datetime

from context_store.db import Conn, as_uuid, q
from context_store.records import Callback, Closed, from_row_or_none


async def request(
    conn: Conn, namespace: str, interaction_id: uuid.UUID, number: str, not_before: datetime | None
) -> Callback | None:
    """Mark a waiting interaction as a callback; None when it is not waiting (or not of this domain)."""
    row = await conn.fetchrow(q("callback_upsert"), interaction_id, number, not_before, namespace)
    return from_row_or_none(Callback, row)


async def get(conn: Conn, namespace: str, interaction_id: uuid.UUID | str) -> Callback | None:
    return from_row_or_none(
        Callback, await conn.fetchrow(q("callback_get"), as_uuid(interaction_id), namespace)
    )


async def attempt(
    conn: Conn, namespace: str, interaction_id: uuid.UUID, outcome: str, held_until: datetime | None
) -> Callback | None:
    """Count one call and its outcome; ``held_until`` the retry time (None: not held)."""
    row = await conn.fetchrow(q("callback_attempt"), interaction_id, outcome, held_until, namespace)
    return from_row_or_none(Callback, row)


async def open_callbacks(conn: Conn, namespace: str) -> list[Callback]:
    """Callbacks of interactions not ended (the live index is rebuilt with them)."""
    return [Callback(**r) for r in await conn.fetch(q("callbacks_open"), namespace)]


async def requeue(conn: Conn, namespace: str, interaction_id: uuid.UUID) -> bool:
    """Back to waiting after a call that did not reach the customer (its rank unchanged)."""
    return await conn.fetchval(q("callback_requeue"), interaction_id, namespace) is not None


async def close(conn: Conn, namespace: str, interaction_id: uuid.UUID, reason: str) -> Closed | None:
    """End a callback whose attempts are used up (status ``ended``, never ``abandoned``)."""
    return from_row_or_none(
        Closed, await conn.fetchrow(q("callback_close"), interaction_id, reason, namespace)
    )
