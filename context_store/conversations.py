"""Conversations: the interactions of one exchange with a customer, across channels and transfers."""

from __future__ import annotations

import uuid

from context_store.db import Conn, as_uuid, q
from context_store.records import Conversation, ThreadRef, from_row_or_none


async def get(conn: Conn, conversation_id: uuid.UUID | str) -> Conversation | None:
    row = await conn.fetchrow(q("conversation_get"), as_uuid(conversation_id))
    return from_row_or_none(Conversation, row)


async def by_message_refs(conn: Conn, external_ids: list[str]) -> uuid.UUID | None:
    """The conversation holding the newest of these provider message ids (e-mail threading)."""
    cid: uuid.UUID | None = await conn.fetchval(q("conversation_by_refs"), external_ids)
    return cid


async def thread_refs(conn: Conn, conversation_id: uuid.UUID | str) -> list[ThreadRef]:
    """Provider ids of the conversation's messages, oldest first (e-mail References)."""
    rows = await conn.fetch(q("conversation_external_ids"), as_uuid(conversation_id))
    return [ThreadRef(**r) for r in rows]
