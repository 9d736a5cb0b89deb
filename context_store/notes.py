"""Agents' notes on a customer, usually about one interaction."""

from __future__ import annotations

import uuid

from context_store.db import Conn, as_uuid, q
from context_store.records import Note, from_row


async def insert(
    conn: Conn,
    customer_id: uuid.UUID | str,
    interaction_id: uuid.UUID | str | None,
    agent_id: str | None,
    body: str,
) -> Note:
    row = await conn.fetchrow(
        q("note_insert"),
        uuid.uuid4(),
        as_uuid(customer_id),
        as_uuid(interaction_id) if interaction_id else None,
        agent_id,
        body,
    )
    return from_row(Note, row)
