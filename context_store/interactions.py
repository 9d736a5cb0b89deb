"""Interactions, their status history, messages and notes."""

from __future__ import annotations

import uuid
from typing import Any, TypeAlias

import asyncpg

from context_store.db import as_uuid, q

Conn: TypeAlias = "asyncpg.Connection | asyncpg.Pool"


async def get_interaction(
    conn: Conn, interaction_id: uuid.UUID | str, *, full: bool = True
) -> dict[str, Any] | None:
    iid = interaction_id if isinstance(interaction_id, uuid.UUID) else uuid.UUID(str(interaction_id))
    row = await conn.fetchrow(q("interaction_get"), iid)
    if row is None:
        return None
    out = dict(row)
    if full:
        out["messages"] = [dict(m) for m in await conn.fetch(q("interaction_messages"), iid)]
        out["notes"] = [dict(n) for n in await conn.fetch(q("interaction_notes"), iid)]
    return out


async def add_history(
    conn: Conn, interaction_id: uuid.UUID | str, status: str, agent_id: str | None = None, **detail: Any
) -> None:
    await conn.execute(q("history_insert"), as_uuid(interaction_id), status, agent_id, detail)


async def insert_message(
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
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """Insert a message; ``None`` when a message with that provider id already exists (a retry)."""
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
    return dict(row) if row else None


async def insert_note(
    conn: Conn,
    customer_id: uuid.UUID | str,
    interaction_id: uuid.UUID | str | None,
    agent_id: str | None,
    body: str,
) -> dict[str, Any]:
    row = await conn.fetchrow(
        q("note_insert"),
        uuid.uuid4(),
        as_uuid(customer_id),
        as_uuid(interaction_id) if interaction_id else None,
        agent_id,
        body,
    )
    assert row is not None
    return dict(row)
