"""Customers: identity resolution, profile, identities and the context record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from context_store.db import Conn, as_uuid, lock_keys, q
from context_store.records import (
    Customer,
    Identity,
    OfferContext,
    OfferedInteraction,
    PossibleMatch,
    from_row_or_none,
)

MAX_CONTEXT_INTERACTIONS = 50
MAX_CONTEXT_EVENTS = 200


@dataclass(frozen=True, slots=True)
class Profile:
    """Profile facts a contact brings: written on a customer it creates; on an existing customer they only
    fill empty fields, and only when they were verified (see :func:`resolve_customer`)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None

    def over(self, other: Profile) -> Profile:
        """These facts, each missing one taken from ``other``."""
        return Profile(self.name or other.name, self.email or other.email, self.phone or other.phone)


async def resolve_customer(
    conn: asyncpg.Connection,
    keys: Sequence[tuple[str, str]],
    *,
    claimed: Sequence[tuple[str, str]] = (),
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    claimed_profile: Profile | None = None,
    anonymous: bool = False,
) -> uuid.UUID:
    """The customer of a contact: found through its linking keys, or created (see :func:`resolve`)."""
    customer_id, _ = await resolve(
        conn,
        keys,
        claimed=claimed,
        name=name,
        email=email,
        phone=phone,
        claimed_profile=claimed_profile,
        anonymous=anonymous,
    )
    return customer_id


def resolution_keys(
    keys: Sequence[tuple[str, str]], claimed: Sequence[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """Every key a resolution reads (see :func:`resolve`): the linking keys, then the claimed ones that
    are not among them, each once."""
    linking = list(dict.fromkeys(keys))
    return linking + [k for k in dict.fromkeys(claimed) if k not in linking]


def resolution_locks(keys: Sequence[tuple[str, str]]) -> list[str]:
    """The locks a resolution of ``keys`` takes, in the order it takes them (sorted, so two resolutions
    never wait on each other in a cycle)."""
    return [f"id:{kind}:{value}" for kind, value in sorted(keys)]


async def resolve(
    conn: asyncpg.Connection,
    keys: Sequence[tuple[str, str]],
    *,
    claimed: Sequence[tuple[str, str]] = (),
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    claimed_profile: Profile | None = None,
    anonymous: bool = False,
    owners: dict[tuple[str, str], uuid.UUID] | None = None,
) -> tuple[uuid.UUID, bool]:
    """The customer of a contact, found through its linking keys or created, and whether it was created
    here (in this transaction: nothing else has written to it yet).

    ``keys`` are the normalized keys that may link: the contact's own address first (its caller id,
    ``wa_id``, sender), then hints marked verified. The contact goes to the customer of the first key
    that is known; keys of that list still unknown become that customer's identities. A key known for
    another customer links nothing and merges nothing: that customer is recorded as a possible match,
    as is any customer that a ``claimed`` (unverified) key names. Claimed keys never become identities.

    ``name``/``email``/``phone`` are verified facts: they fill empty fields of the customer found.
    ``claimed_profile`` is used only for a customer created here. ``anonymous`` marks a created
    customer whose contact had a withheld caller id.

    Must run inside a transaction. Every key is locked (sorted, so concurrent resolutions never
    deadlock) before it is read, so two first contacts from one new number create one customer. A caller
    that has taken :func:`resolution_locks` of :func:`resolution_keys` itself, in the same transaction,
    and read the customers of those keys after them, passes what it read as ``owners``.
    """
    linking = list(dict.fromkeys(keys))
    every = resolution_keys(keys, claimed)
    if owners is not None:
        owner = owners
    else:
        owner = {}
        if every:
            await lock_keys(conn, resolution_locks(every))
            rows = await conn.fetch(q("identities_lookup"), [k for k, _ in every], [v for _, v in every])
            owner = {(r["kind"], r["value"]): r["customer_id"] for r in rows}
    verified = Profile(name, email, phone)
    found = next((owner[k] for k in linking if k in owner), None)
    new_keys = [key for key in linking if key not in owner]
    if found is not None:
        customer_id = found
        if name is not None or email is not None or phone is not None:
            await conn.execute(q("customer_fill_profile"), customer_id, name, email, phone)
        for kind, value in new_keys:
            await conn.execute(q("identity_insert"), kind, value, customer_id)
    else:
        customer_id = uuid.uuid4()
        profile = verified.over(claimed_profile or Profile())
        await conn.execute(
            q("customer_insert_with_identities"),
            customer_id,
            profile.name,
            profile.email,
            profile.phone,
            anonymous and not linking,
            [k for k, _ in new_keys],
            [v for _, v in new_keys],
        )
    for key in every:
        candidate = owner.get(key)
        if candidate is not None and candidate != customer_id:
            await conn.execute(q("possible_match_insert"), customer_id, candidate, key[0])
    return customer_id, found is None


async def fill_unreached_profile(conn: Conn, customer_id: uuid.UUID, profile: Profile) -> None:
    """Give a customer that no contact has reached yet (created by a journey event, such as the pages a
    web visitor browsed) what its first contact says of itself, into empty fields only: the profile a
    customer created by that contact would have had. A customer with any interaction is never changed."""
    await conn.execute(
        q("customer_fill_profile_unreached"), customer_id, profile.name, profile.email, profile.phone
    )


async def possible_matches(conn: Conn, customer_id: uuid.UUID | str) -> list[PossibleMatch]:
    """The customers this customer's contacts pointed at without linking, oldest first."""
    rows = await conn.fetch(q("possible_matches_of_customer"), as_uuid(customer_id))
    return [PossibleMatch(**r) for r in rows]


HELD_STATUSES = ("assigned", "wrapup")
"""An agent holds an interaction in these statuses."""


async def offer_context(conn: Conn, interaction_id: uuid.UUID) -> OfferContext | None:
    """The context record of the interaction's customer, in one round trip; None when there is no such
    interaction."""
    raw = await conn.fetchval(
        q("context_record"), None, MAX_CONTEXT_INTERACTIONS, MAX_CONTEXT_EVENTS, interaction_id
    )
    if raw is None:
        return None
    wanted = str(interaction_id)
    listed = json.loads(raw)["interactions"]
    current = next((i for i in listed if i["id"] == wanted), None)
    held = tuple(
        (i["id"], i["agent_id"], i["channel"])
        for i in listed
        if i["status"] in HELD_STATUSES and i["agent_id"] is not None
    )
    if current is None:
        return OfferContext(raw, None, held)
    return OfferContext(
        raw, OfferedInteraction(json.dumps(current), current["queue"], current["channel"]), held
    )


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
