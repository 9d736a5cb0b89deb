"""Merging two customers into one, and undoing it.

A merge moves every row of the other customer (identities, conversations, interactions, notes, journey
events, possible matches) to the customer kept, in one transaction, and records who merged, when, why,
what matched, and the id of every row it moved. An unmerge moves exactly those rows back, with what grew
from them since (interactions of the other's conversations, notes and journey events of its
interactions), and restores the possible matches as they were. The other customer's row is kept, its
profile untouched, marked ``merged_into``.

Locking: the other customer's resolution keys first (the advisory locks a contact's resolution takes, in
the same sorted order), so no contact can be resolved to a customer while its rows move; then both
customers' rows, in id order, so two merges of the same customers queue instead of deadlocking. The key
set is read before it is locked: when it changed meanwhile, the transaction starts again. A row inserted
later by a writer that read the customer before a merge or an unmerge is put on its parent's customer,
and past any merge, by the ``follow_customer_merge`` trigger of migration 0005.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import asyncpg

from context_store.db import as_uuid, lock_key, q
from context_store.errors import RecordNotFound, StoreError
from context_store.records import HeldWork, Merge, from_row

ATTEMPTS = 5
"""How often a merge starts again when a contact gave the customer a new key while it waited."""

MERGED_COLUMNS = frozenset(
    {
        ("identities", "customer_id"),
        ("conversations", "customer_id"),
        ("interactions", "customer_id"),
        ("notes", "customer_id"),
        ("journey_events", "customer_id"),
        ("possible_matches", "customer_id"),
        ("possible_matches", "candidate_id"),
        ("surveys", "customer_id"),
        ("survey_requests", "customer_id"),
    }
)
"""Every column naming a customer whose rows a merge moves (``customer_merge_move``); a store test holds
it equal to the schema's references to ``customers``, so a new table of a customer's data is merged too."""

BOOKKEEPING_COLUMNS = frozenset(
    {
        ("customers", "merged_into"),
        ("customer_merges", "customer_id"),
        ("customer_merges", "other_customer_id"),
        ("consent_events", "customer_id"),
        ("erasures", "customer_id"),
        ("customer_preferences", "customer_id"),
        ("campaign_recipients", "customer_id"),
    }
)
"""References to ``customers`` that stay where they are: the merges' and erasures' own records, the
consent ledger, whose reads take in the customers merged into the one asked about (``consent_current``),
so that an unmerge separates them again without moving anything, the preferences (the kept customer's
hold) and the campaigns' recipients (the record of what was sent to whom)."""


class MergeRefused(StoreError):
    """The merge or unmerge cannot be done as asked (a customer merged into itself, one already merged
    away, a merge already undone, or one whose customer was merged away since)."""


class _KeysChanged(Exception):
    """The customer gained a key between the read and the lock: start again."""


async def merge(
    pool: asyncpg.Pool,
    customer_id: uuid.UUID | str,
    other_customer_id: uuid.UUID | str,
    *,
    reason: str,
    merged_by: str,
) -> Merge:
    """Move ``other_customer_id``'s rows to ``customer_id`` and record it. Raises :class:`RecordNotFound`
    for an unknown customer and :class:`MergeRefused` when either is merged away or both are one."""
    kept, other = as_uuid(customer_id), as_uuid(other_customer_id)
    if kept == other:
        raise MergeRefused("a customer cannot be merged into itself")
    for attempt in range(ATTEMPTS):
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await _merge(conn, kept, other, reason, merged_by)
        except (_KeysChanged, asyncpg.DeadlockDetectedError) as exc:
            if attempt == ATTEMPTS - 1:
                raise MergeRefused("the customers kept changing during the merge; try again") from exc
    raise AssertionError("unreachable")


async def _lock_keys(conn: asyncpg.Connection, customer_id: uuid.UUID) -> set[tuple[str, str]]:
    keys = {(r["kind"], r["value"]) for r in await conn.fetch(q("customer_identity_keys"), customer_id)}
    for kind, value in sorted(keys):
        await lock_key(conn, f"id:{kind}:{value}")
    return keys


async def _lock_customers(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = await conn.fetch(q("customers_lock"), list(ids))
    found = {r["id"]: r["merged_into"] for r in rows}
    for cid in ids:
        if cid not in found:
            raise RecordNotFound(f"customer {cid} not found")
    return found


async def _merge(
    conn: asyncpg.Connection, kept: uuid.UUID, other: uuid.UUID, reason: str, merged_by: str
) -> Merge:
    keys = await _lock_keys(conn, other)
    merged_into = await _lock_customers(conn, (kept, other))
    for cid in (kept, other):
        if merged_into[cid] is not None:
            raise MergeRefused(f"customer {cid} was merged into customer {merged_into[cid]}")
    now = {(r["kind"], r["value"]) for r in await conn.fetch(q("customer_identity_keys"), other)}
    if not now <= keys:
        raise _KeysChanged()
    row = await conn.fetchrow(q("customer_merge_move"), kept, other)
    await conn.execute(q("customer_set_merged_into"), other, kept)
    record = await conn.fetchrow(
        q("customer_merge_insert"),
        uuid.uuid4(),
        kept,
        other,
        reason,
        list(row["matched"]),
        merged_by,
        row["moved"],
    )
    return from_row(Merge, record)


async def unmerge(
    pool: asyncpg.Pool, customer_id: uuid.UUID | str, merge_id: uuid.UUID | str, *, unmerged_by: str
) -> Merge:
    """Undo a merge into ``customer_id``: both customers as they were. Raises :class:`RecordNotFound`
    when the merge is not one into this customer, :class:`MergeRefused` when it was undone already or
    the customer has been merged into another since (undo that merge first)."""
    kept, mid = as_uuid(customer_id), as_uuid(merge_id)
    for attempt in range(ATTEMPTS):
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await _unmerge(conn, kept, mid, unmerged_by)
        except asyncpg.DeadlockDetectedError as exc:
            if attempt == ATTEMPTS - 1:
                raise MergeRefused("the customers kept changing during the unmerge; try again") from exc
    raise AssertionError("unreachable")


async def _unmerge(conn: asyncpg.Connection, kept: uuid.UUID, mid: uuid.UUID, unmerged_by: str) -> Merge:
    peek = await conn.fetchrow(q("customer_merge_lock"), mid)
    if peek is None or peek["customer_id"] != kept:
        raise RecordNotFound(f"customer {kept} has no merge {mid}")
    moved = peek["moved"]
    if isinstance(moved, str):
        moved = json.loads(moved)
    # the keys going back, then both customers: the order a merge locks in
    for kind, value in sorted((k, v) for k, v in moved["identities"]):
        await lock_key(conn, f"id:{kind}:{value}")
    other = peek["other_customer_id"]
    merged_into = await _lock_customers(conn, (kept, other))
    row = await conn.fetchrow(q("customer_merge_lock"), mid)
    if row["unmerged_at"] is not None:
        raise MergeRefused(f"merge {mid} was undone already")
    if merged_into[kept] is not None:
        raise MergeRefused(
            f"customer {kept} was merged into customer {merged_into[kept]} since: undo that merge first"
        )
    await conn.fetchval(q("customer_unmerge_move"), kept, other, moved)
    await conn.execute(q("customer_set_merged_into"), other, None)
    return from_row(Merge, await conn.fetchrow(q("customer_merge_undone"), mid, unmerged_by))


async def merges_of(conn: asyncpg.Connection | asyncpg.Pool, customer_id: uuid.UUID | str) -> list[Merge]:
    """The merges a customer took part in, kept or merged away, oldest first."""
    return [from_row(Merge, r) for r in await conn.fetch(q("customer_merges_of"), as_uuid(customer_id))]


async def held_work(
    conn: asyncpg.Connection | asyncpg.Pool, namespace: str, customer_ids: Sequence[uuid.UUID | str]
) -> list[HeldWork]:
    """The interactions of these customers that an agent of this routing domain holds now."""
    rows = await conn.fetch(q("customers_held_work"), [as_uuid(c) for c in customer_ids], namespace)
    return [from_row(HeldWork, r) for r in rows]
