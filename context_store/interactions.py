"""Interactions and their status history: creation (unique per domain, channel and provider id), the
lifecycle (assigned, wrap-up, closed), and what the live index is rebuilt and repaired from.

Every interaction belongs to one routing domain (namespace) and every function here takes it: an
interaction of another domain is not found, not changed and not counted. The customer an interaction
belongs to, and the customer's context record, are shared by all domains."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from context_store.db import Conn, as_uuid, lock_key, q
from context_store.errors import Duplicate
from context_store.records import (
    Closed,
    Interaction,
    InteractionDetail,
    JSONObject,
    Message,
    MessageRef,
    Note,
    OpenInteraction,
    QueueDayCounts,
    QueueDayMetrics,
    from_row,
    from_row_or_none,
)


async def add_history(
    conn: Conn, interaction_id: uuid.UUID | str, status: str, agent_id: str | None = None, **detail: Any
) -> None:
    await conn.execute(q("history_insert"), as_uuid(interaction_id), status, agent_id, detail)


async def get(conn: Conn, namespace: str, interaction_id: uuid.UUID | str) -> Interaction | None:
    return from_row_or_none(
        Interaction, await conn.fetchrow(q("interaction_get"), as_uuid(interaction_id), namespace)
    )


async def get_detail(conn: Conn, namespace: str, interaction_id: uuid.UUID | str) -> InteractionDetail | None:
    """The interaction with its messages and notes."""
    iid = as_uuid(interaction_id)
    it = await get(conn, namespace, iid)
    if it is None:
        return None
    messages = tuple(Message(**m) for m in await conn.fetch(q("interaction_messages"), iid))
    notes = tuple(Note(**n) for n in await conn.fetch(q("interaction_notes"), iid))
    return InteractionDetail(it, messages, notes)


async def lock_external_id(conn: asyncpg.Connection, namespace: str, channel: str, external_id: str) -> None:
    """Serialize ingests of one provider id in the domain until the transaction ends (then look it up)."""
    await lock_key(conn, external_id_lock(namespace, channel, external_id))


def external_id_lock(namespace: str, channel: str, external_id: str) -> str:
    """The lock key of :func:`lock_external_id` (for taking it with others in one statement)."""
    return f"ext:{namespace}:{channel}:{external_id}"


async def id_by_external(conn: Conn, namespace: str, channel: str, external_id: str) -> uuid.UUID | None:
    iid: uuid.UUID | None = await conn.fetchval(q("interaction_by_external"), channel, external_id, namespace)
    return iid


@dataclass(frozen=True, slots=True)
class ArrivalLookup:
    """What an arriving contact's ingest reads under its locks (:func:`arrival_lookup`)."""

    existing: uuid.UUID | None
    """The domain's interaction of this provider id, if stored already."""
    message: MessageRef | None
    """The stored message of this provider message id, in any domain."""
    owners: dict[tuple[str, str], uuid.UUID]
    """The customer of each known key."""


async def arrival_lookup(
    conn: Conn,
    namespace: str,
    channel: str,
    external_id: str,
    message_external_id: str | None,
    keys: Sequence[tuple[str, str]],
    locks: Sequence[str] = (),
) -> ArrivalLookup:
    """The interaction of ``external_id``, the message of ``message_external_id`` and the customers of
    ``keys`` (kind, value), in one round trip that first takes ``locks`` (transaction-scoped advisory
    locks, in the order given, as :func:`context_store.db.lock_keys` takes them): all three are read
    after any writer of them that held those locks has committed."""
    row = await conn.fetchrow(
        q("arrival_lookup"),
        namespace,
        channel,
        external_id,
        message_external_id,
        [k for k, _ in keys],
        [v for _, v in keys],
        list(locks),
    )
    assert row is not None  # one row always
    message = (
        MessageRef(row["message_id"], row["message_interaction"]) if row["message_id"] is not None else None
    )
    owners = {(kind, value): uuid.UUID(customer) for kind, value, customer in row["owners"] or []}
    return ArrivalLookup(row["existing"], message, owners)


async def open_for(
    conn: Conn, namespace: str, customer_id: uuid.UUID, channel: str, conversation_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The customer's newest open (waiting or assigned) interaction in the domain on a channel, optionally
    in one conversation."""
    iid: uuid.UUID | None = await conn.fetchval(
        q("open_interaction_for"), customer_id, channel, conversation_id, namespace
    )
    return iid


async def live_in_conversation(conn: Conn, namespace: str, conversation_id: uuid.UUID) -> uuid.UUID | None:
    """The newest interaction of a conversation in the domain that has not ended (where a transfer went)."""
    iid: uuid.UUID | None = await conn.fetchval(
        q("live_interaction_in_conversation"), conversation_id, namespace
    )
    return iid


async def create(
    conn: Conn,
    *,
    namespace: str,
    interaction_id: uuid.UUID,
    customer_id: uuid.UUID,
    conversation_id: uuid.UUID,
    new_conversation: bool,
    channel: str,
    external_id: str,
    from_kind: str | None,
    from_value: str | None,
    queue_id: str,
    priority: int,
    attributes: JSONObject,
    subject: str | None,
    venq_ms: int,
) -> Interaction:
    """A new waiting interaction, with its conversation (when ``new_conversation``), its first status
    and its ``interaction.created`` journey event: one statement. The pair (channel, external_id) is
    unique in the domain: a second one raises :class:`Duplicate`."""
    try:
        row = await conn.fetchrow(
            q("interaction_create"),
            interaction_id,
            customer_id,
            conversation_id,
            new_conversation,
            channel,
            external_id,
            from_kind,
            from_value,
            queue_id,
            priority,
            attributes,
            subject,
            venq_ms,
            uuid.uuid4(),
            {"channel": channel, "queue": queue_id, "attributes": attributes},
            {"queue": queue_id},
            namespace,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Duplicate(f"a {channel} interaction with external id {external_id!r} exists") from exc
    return from_row(Interaction, row)


async def insert(
    conn: Conn,
    *,
    namespace: str,
    interaction_id: uuid.UUID,
    customer_id: uuid.UUID,
    conversation_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    channel: str,
    external_id: str,
    from_kind: str | None,
    from_value: str | None,
    queue_id: str,
    priority: int,
    attributes: JSONObject,
    subject: str | None,
    venq_ms: int,
) -> Interaction:
    """A waiting interaction in an existing conversation (a transfer's continuation); the caller
    records its history."""
    try:
        row = await conn.fetchrow(
            q("interaction_insert"),
            interaction_id,
            customer_id,
            conversation_id,
            parent_id,
            channel,
            external_id,
            from_kind,
            from_value,
            queue_id,
            priority,
            attributes,
            subject,
            venq_ms,
            namespace,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Duplicate(f"a {channel} interaction with external id {external_id!r} exists") from exc
    return from_row(Interaction, row)


async def assign(conn: Conn, namespace: str, interaction_id: uuid.UUID | str, agent_id: str) -> bool:
    """Assigned to the agent; False when it is no longer waiting or assigned (the customer left)."""
    found = await conn.fetchval(q("interaction_assign"), as_uuid(interaction_id), agent_id, namespace)
    return found is not None


async def assign_recorded(
    conn: Conn,
    namespace: str,
    interaction_id: uuid.UUID | str,
    agent_id: str,
    *,
    warm: bool = True,
    **detail: Any,
) -> Interaction | None:
    """Assigned to the agent with its ``assigned`` history row (``detail``), in one round trip; the
    interaction as it is now, None when it is no longer waiting or assigned (the customer left). With
    ``warm`` False, None also for the target's copy of a warm transfer (left unchanged): its accept
    closes the sender's interaction in the same transaction."""
    row = await conn.fetchrow(
        q("interaction_assign_recorded"), as_uuid(interaction_id), agent_id, namespace, detail, warm
    )
    return from_row_or_none(Interaction, row)


async def finish(
    conn: Conn,
    namespace: str,
    interaction_id: uuid.UUID | str,
    agent_id: str,
    disposition: str | None,
    summary: str | None,
    until: datetime | None,
    *,
    journey_data: JSONObject,
    journey_cap: int,
) -> str | None:
    """The agent's completion with its history row and the customer's ``interaction.completed`` journey
    event (``journey_data``, the journey capped at ``journey_cap``), in one statement: into wrap-up until
    ``until``, or completed at once when ``until`` is None. The new status; None, and nothing written,
    unless it was assigned or in wrap-up."""
    found = await conn.fetchval(
        q("interaction_finish"),
        as_uuid(interaction_id),
        namespace,
        agent_id,
        disposition,
        summary,
        until,
        uuid.uuid4(),
        journey_data,
        journey_cap,
    )
    return None if found is None else str(found)


async def requeue(conn: Conn, namespace: str, interaction_id: uuid.UUID | str) -> bool:
    """Back to waiting; False unless it was assigned."""
    return await conn.fetchval(q("interaction_requeue"), as_uuid(interaction_id), namespace) is not None


async def move_queue(
    conn: Conn, namespace: str, interaction_id: uuid.UUID | str, from_queue: str, to_queue: str
) -> bool:
    """The record follows an interaction the live index moved from ``from_queue`` to ``to_queue``; False
    when it is no longer in ``from_queue`` (moved already, or a late report) or has ended."""
    found = await conn.fetchval(
        q("interaction_move_queue"), as_uuid(interaction_id), namespace, from_queue, to_queue
    )
    return found is not None


async def patch_waiting(
    conn: Conn,
    namespace: str,
    interaction_id: uuid.UUID | str,
    attributes: dict[str, Any],
    queue_id: str | None,
) -> bool:
    """Merge attributes into a waiting interaction (and move its record to ``queue_id`` when given);
    False when it is not waiting."""
    found = await conn.fetchval(
        q("interaction_patch_waiting"), as_uuid(interaction_id), namespace, attributes, queue_id
    )
    return found is not None


async def wrapup(
    conn: Conn,
    namespace: str,
    interaction_id: uuid.UUID | str,
    disposition: str | None,
    summary: str | None,
    until: datetime | None,
) -> bool:
    """Into wrap-up until ``until`` (keeps an earlier disposition or summary when given None); False
    unless it was assigned or in wrap-up."""
    found = await conn.fetchval(
        q("interaction_wrapup"), as_uuid(interaction_id), disposition, summary, until, namespace
    )
    return found is not None


async def close(
    conn: Conn, namespace: str, interaction_id: uuid.UUID | str, status: str, end_reason: str | None = None
) -> Closed | None:
    """A final status; None when it had already ended."""
    row = await conn.fetchrow(q("interaction_close"), as_uuid(interaction_id), status, end_reason, namespace)
    return from_row_or_none(Closed, row)


async def customer_ended(
    conn: Conn, namespace: str, interaction_id: uuid.UUID | str, reason: str
) -> Closed | None:
    """The customer left: ``abandoned`` while waiting, otherwise its status stays (the agent completes
    it) with the reason and end time recorded. None when it had already ended or does not exist."""
    row = await conn.fetchrow(q("interaction_customer_ended"), as_uuid(interaction_id), reason, namespace)
    return from_row_or_none(Closed, row)


async def set_subject(conn: Conn, namespace: str, interaction_id: uuid.UUID | str, subject: str) -> None:
    await conn.execute(q("interaction_set_subject"), as_uuid(interaction_id), subject, namespace)


async def open_all(conn: Conn, namespace: str) -> list[OpenInteraction]:
    """Every interaction of the domain not ended: what its live index is rebuilt and repaired from."""
    return [OpenInteraction(**r) for r in await conn.fetch(q("interactions_open"), namespace)]


async def statuses(conn: Conn, namespace: str, interaction_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The status of each of these interactions of the domain (others' are left out)."""
    rows = await conn.fetch(q("interaction_statuses"), interaction_ids, namespace)
    return {r["id"]: r["status"] for r in rows}


async def customer_ids(conn: Conn, namespace: str, interaction_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The customers these interactions of the domain belong to (unknown ids are left out)."""
    rows = await conn.fetch(q("interaction_customers"), interaction_ids, namespace)
    return {r["customer_id"] for r in rows}


async def agent_serves_customer(conn: Conn, namespace: str, agent_id: str, customer_id: uuid.UUID) -> bool:
    """Does the domain's agent hold (assigned or in wrap-up) work of this customer?"""
    return bool(await conn.fetchval(q("agent_serves_customer"), agent_id, customer_id, namespace))


async def day_counts(conn: Conn, namespace: str, since: datetime) -> list[QueueDayCounts]:
    """Per queue of the domain, the interactions created since ``since``: answered, answered within the
    queue's service level, abandoned."""
    return [QueueDayCounts(**r) for r in await conn.fetch(q("queue_day_stats"), since, namespace)]


async def day_metrics(conn: Conn, namespace: str, since: datetime) -> list[QueueDayMetrics]:
    """Per queue of the domain, the interactions that arrived since ``since``: arrived, answered,
    abandoned, and the average speed of answer (arrival to acceptance) of the answered ones."""
    return [QueueDayMetrics(**r) for r in await conn.fetch(q("queue_day_metrics"), since, namespace)]
