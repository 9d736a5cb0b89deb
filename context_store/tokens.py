"""API tokens, stored as hashes only, one role each (an agent token names its agent). A token can be
given an expiry and revoked; the tokens named in the configuration file are marked as such.

Every stored token belongs to one routing domain (namespace): the one whose API created it or whose
configuration file names it. It is accepted, listed and revoked there only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from context_store.db import Conn, q
from context_store.records import TokenInfo, TokenRecord, from_row, from_row_or_none


async def insert(
    conn: Conn,
    namespace: str,
    token_hash: str,
    role: str,
    agent_id: str | None,
    name: str | None,
    expires_at: datetime | None = None,
) -> TokenInfo:
    """Store a new token's hash in the domain."""
    return from_row(
        TokenInfo,
        await conn.fetchrow(q("token_insert"), token_hash, role, agent_id, name, expires_at, namespace),
    )


async def upsert_from_file(
    conn: Conn, namespace: str, token_hash: str, role: str, agent_id: str | None, name: str | None
) -> TokenInfo:
    """Store a token named in the domain's configuration file (again: its role, agent and name are
    replaced). A token once revoked stays revoked."""
    return from_row(
        TokenInfo, await conn.fetchrow(q("token_file_upsert"), token_hash, role, agent_id, name, namespace)
    )


async def revoke_file_tokens_except(
    conn: Conn, namespace: str, token_hashes: Sequence[str]
) -> list[TokenInfo]:
    """Revoke the domain's tokens that came from its configuration file and are no longer in it."""
    rows = await conn.fetch(q("tokens_file_revoke_missing"), list(token_hashes), namespace)
    return [from_row(TokenInfo, r) for r in rows]


async def get(conn: Conn, namespace: str, token_hash: str) -> TokenRecord | None:
    """The domain's token with this hash, if it may be used now (neither revoked nor expired)."""
    return from_row_or_none(TokenRecord, await conn.fetchrow(q("token_get"), token_hash, namespace))


async def all_tokens(conn: Conn, namespace: str) -> list[TokenInfo]:
    """The domain's tokens."""
    return [from_row(TokenInfo, r) for r in await conn.fetch(q("tokens_all"), namespace)]


async def revoke(conn: Conn, namespace: str, token_id: uuid.UUID) -> TokenInfo | None:
    """Revoke a token of the domain (revoking it again changes nothing); None when the domain has no
    token with this id."""
    return from_row_or_none(TokenInfo, await conn.fetchrow(q("token_revoke"), token_id, namespace))


async def revoked_among(conn: Conn, namespace: str, token_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Those of these tokens that were revoked (or are not stored in the domain)."""
    return [r["id"] for r in await conn.fetch(q("tokens_not_usable"), list(token_ids), namespace)]
