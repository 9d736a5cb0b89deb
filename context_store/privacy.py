"""Personal data on request: a customer's export, the erasure of their personal data, and the retention
purge of old message bodies.

Customers are shared by every routing domain of a deployment, so an erasure reaches the customer's data
in all of them. It keeps the customer's row and interactions (so the counts reports read stay right) and
removes what names or describes the person: profile, identities (so their next contact starts a new
customer), journey, possible matches, message and note bodies, attachments, the sender's address,
collected attributes, subjects and summaries. It refuses while any of the customer's work is live, in
any domain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from context_store.db import Conn, as_uuid, lock_key, q
from context_store.records import Erasure, from_row

PURGE_BATCH = 1000


class LiveWork(Exception):
    """The customer has interactions still waiting, offered, held or in wrap-up."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} interaction(s) of this customer are still live")
        self.count = count


@dataclass(frozen=True, slots=True)
class Erased:
    erasure: Erasure
    new: bool  # False: the customer had been erased before; that erasure is answered
    interactions: dict[str, set[str]]  # routing domain (namespace) → ids of the customer's interactions


async def export_json(conn: Conn, customer_id: uuid.UUID | str) -> str | None:
    """Everything stored about the customer as JSON text; None when there is no such customer."""
    raw: str | None = await conn.fetchval(q("customer_export"), as_uuid(customer_id))
    return raw


async def erase(pool: asyncpg.Pool, customer_id: uuid.UUID | str, erased_by: str) -> Erased | None:
    """Erase the customer's personal data in one transaction; None when there is no such customer.

    The customer's identity keys are locked first (the locks a contact's resolution takes), so a contact
    arriving at the same moment either is linked before (its interaction is live: :class:`LiveWork`, and
    nothing is erased) or resolves after, to a new customer. Erasing an erased customer changes nothing
    and answers the first erasure.
    """
    cid = as_uuid(customer_id)
    async with pool.acquire() as conn, conn.transaction():
        locked: set[tuple[str, str]] = set()
        while True:  # lock until no key was added between the read and the locks
            keys = {(r["kind"], r["value"]) for r in await conn.fetch(q("identities_of_customer"), cid)}
            if keys <= locked:
                break
            for kind, value in sorted(keys - locked):
                await lock_key(conn, f"id:{kind}:{value}")
            locked |= keys
        # the journey lock before the customer's row: a journey write holds the former while its insert
        # checks the latter, so the other order could deadlock with it
        await lock_key(conn, f"journey:{cid}")
        row = await conn.fetchrow(q("customer_lock"), cid)
        if row is None:
            return None
        if row["erased_at"] is not None:
            first = await conn.fetchrow(q("erasure_first"), cid)
            if first is not None:
                return Erased(from_row(Erasure, first), False, {})
        live = await conn.fetchval(q("customer_live_work"), cid)
        if live:
            raise LiveWork(int(live))
        interactions: dict[str, set[str]] = {}
        for r in await conn.fetch(q("customer_interaction_ids"), cid):
            interactions.setdefault(r["namespace"], set()).add(str(r["id"]))
        counts = {
            "messages": await conn.fetchval(q("customer_erase_messages"), cid),
            "notes": await conn.fetchval(q("customer_erase_notes"), cid),
            "interactions": await conn.fetchval(q("customer_erase_interactions"), cid),
            "journey_events": await conn.fetchval(q("customer_erase_journey"), cid),
            "survey_comments": await conn.fetchval(q("customer_erase_survey_comments"), cid),
            "identities": await conn.fetchval(q("customer_erase_identities"), cid),
            "possible_matches": await conn.fetchval(q("customer_erase_possible_matches"), cid),
            "merged_customers": await conn.fetchval(q("customer_erase_merged"), cid),
            "merges": await conn.fetchval(q("customer_erase_merge_records"), cid),
            "preferences": await conn.fetchval(q("customer_erase_preferences"), cid),
        }
        await conn.fetchval(q("customer_erase_profile"), cid)
        erasure = await conn.fetchrow(q("erasure_insert"), uuid.uuid4(), cid, erased_by, counts)
        return Erased(from_row(Erasure, erasure), True, interactions)


async def purge_messages_before(pool: asyncpg.Pool, before: datetime, batch: int = PURGE_BATCH) -> int:
    """Blank the bodies and attachments of messages created before ``before``, in batches; how many.
    Idempotent, and safe to run from several processes at once."""
    total = 0
    while True:
        done = int(await pool.fetchval(q("messages_purge_before"), before, batch))
        total += done
        if done < batch:
            return total
