"""Customers: identity resolution, profile, identities and the context record."""

from __future__ import annotations

import json
import uuid

import asyncpg

from context_store.db import Conn, as_uuid, lock_key, q
from context_store.records import Customer, Identity, OfferContext, OfferedInteraction, from_row_or_none

MAX_CONTEXT_INTERACTIONS = 50
MAX_CONTEXT_EVENTS = 200


async def resolve_customer(
    conn: asyncpg.Connection,
    keys: list[tuple[str, str]],
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> uuid.UUID:
    """Find the customer any of these normalized identity keys belongs to, or create one.

    Must run inside a transaction. The keys are locked (sorted, so concurrent resolutions never
    deadlock) before they are read, so two first contacts from one new number create one customer.
    When keys point at several customers the oldest wins and unlinked keys join it.
    """
    keys = sorted(set(keys))
    for kind, value in keys:
        await lock_key(conn, f"id:{kind}:{value}")
    rows = await conn.fetch(q("identities_lookup"), [k for k, _ in keys], [v for _, v in keys])
    if rows:
        customer_id: uuid.UUID = rows[0]["customer_id"]
        await conn.execute(q("customer_fill_profile"), customer_id, name, email, phone)
    else:
        customer_id = uuid.uuid4()
        await conn.execute(q("customer_insert"), customer_id, name, email, phone)
    known = {(r["kind"], r["value"]) for r in rows}
    for kind, value in keys:
        if (kind, value) not in known:
            await conn.execute(q("identity_insert"), kind, value, customer_id)
    return customer_id


async def offer_context(conn: Conn, interaction_id: uuid.UUID) -> OfferContext | None:
    """The context record of the interaction's customer, in one round trip; None when there is no such
    interaction."""
    raw = await conn.fetchval(
        q("context_record"), None, MAX_CONTEXT_INTERACTIONS, MAX_CONTEXT_EVENTS, interaction_id
    )
    if raw is None:
        return None
    wanted = str(interaction_id)
    current = next((i for i in json.loads(raw)["interactions"] if i["id"] == wanted), None)
    if current is None:
        return OfferContext(raw, None)
    return OfferContext(raw, OfferedInteraction(json.dumps(current), current["queue"], current["channel"]))


async def get(conn: Conn, customer_id: uuid.UUID | str) -> Customer | None:
    return from_row_or_none(Customer, await conn.fetchrow(q("customer_get"), as_uuid(customer_id)))


async def identities(conn: Conn, customer_id: uuid.UUID | str) -> list[Identity]:
    """The customer's resolution keys, oldest first (a dict of them keeps the newest of each kind)."""
    return [Identity(**r) for r in await conn.fetch(q("identities_of_customer"), as_uuid(customer_id))]


async def context_json(conn: Conn, customer_id: uuid.UUID | str) -> str | None:
    """The customer's context record as JSON text (customer, identities, interactions newest first with
    their messages and notes, journey events newest first); None when there is no such customer."""
    raw: str | None = await conn.fetchval(
        q("context_record"), as_uuid(customer_id), MAX_CONTEXT_INTERACTIONS, MAX_CONTEXT_EVENTS, None
    )
    return raw
