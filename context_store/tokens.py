"""API tokens, stored as hashes only, one role each (an agent token names its agent)."""

from __future__ import annotations

from context_store.db import Conn, q
from context_store.records import TokenRecord, from_row_or_none


async def insert(conn: Conn, token_hash: str, role: str, agent_id: str | None, name: str | None) -> None:
    """Store a token hash (again: its role, agent and name are replaced)."""
    await conn.execute(q("token_insert"), token_hash, role, agent_id, name)


async def get(conn: Conn, token_hash: str) -> TokenRecord | None:
    return from_row_or_none(TokenRecord, await conn.fetchrow(q("token_get"), token_hash))
