"""Merging customers and undoing it (supervisors over HTTP, an agent's ``link_customer``), and telling the
desktops whose work changed customer.

The record is the whole truth of a merge: the live index keeps no customer id for waiting, offered or
assigned work (an offer reads the context from PostgreSQL when it is made), so a merge changes nothing
there, and the next offer of any of the customer's work carries the merged context. Work an agent holds
already gets a ``context`` frame with the new record, through the event stream, wherever the agent's
desktop is connected."""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from context_store import interactions, merges
from context_store.db import parse_uuid
from context_store.errors import RecordNotFound
from context_store.merges import MergeRefused
from context_store.records import Merge
from router.backends import UNAVAILABLE
from router.contracts import InteractionStatus, MergeOut, Role
from router.errors import Conflict, Forbidden, NotFound
from router.routing.engine import Engine
from router.routing.events import publish
from router.service.auth import Principal

log = structlog.get_logger("router.service.merges")

AGENT_VERIFIED = "agent verified"
"""The reason recorded for an agent's ``link_customer``."""


def who(principal: Principal) -> str:
    """Who did it, as a merge records it: ``agent:<id>``, ``supervisor:<token id>``, or the role alone
    (the configured admin token has no id). Never the token itself."""
    if principal.role == Role.agent and principal.agent_id:
        return f"agent:{principal.agent_id}"
    return f"{principal.role.value}:{principal.token_id}" if principal.token_id else principal.role.value


def merge_out(m: Merge) -> MergeOut:
    return MergeOut(
        id=str(m.id),
        customer_id=str(m.customer_id),
        other_customer_id=str(m.other_customer_id),
        reason=m.reason,
        matched=list(m.matched),
        merged_by=m.merged_by,
        merged_at=m.merged_at,
        unmerged_by=m.unmerged_by,
        unmerged_at=m.unmerged_at,
    )


async def merge(
    pool: asyncpg.Pool,
    engine: Engine,
    customer_id: str,
    other_customer_id: uuid.UUID,
    *,
    reason: str,
    by: str,
) -> MergeOut:
    """Merge ``other_customer_id`` into ``customer_id``: 404 (:class:`NotFound`) for an unknown customer,
    409 (:class:`Conflict`) for a customer merged into itself or one already merged away."""
    kept = parse_uuid(customer_id)
    if kept is None:
        raise NotFound(f"customer {customer_id} not found")
    try:
        done = await merges.merge(pool, kept, other_customer_id, reason=reason, merged_by=by)
    except RecordNotFound as exc:
        raise NotFound(str(exc)) from exc
    except MergeRefused as exc:
        raise Conflict(str(exc)) from exc
    log.info(
        "customer.merged",
        merge_id=str(done.id),
        customer_id=str(done.customer_id),
        other_customer_id=str(done.other_customer_id),
        merged_by=by,
    )
    await _announce(pool, engine, "customer_merged", done)
    return merge_out(done)


async def unmerge(
    pool: asyncpg.Pool, engine: Engine, customer_id: str, merge_id: uuid.UUID, *, by: str
) -> MergeOut:
    """Undo a merge into ``customer_id``: 404 when it has no such merge, 409 when the merge was undone
    already or the customer has been merged away since."""
    kept = parse_uuid(customer_id)
    if kept is None:
        raise NotFound(f"customer {customer_id} not found")
    try:
        done = await merges.unmerge(pool, kept, merge_id, unmerged_by=by)
    except RecordNotFound as exc:
        raise NotFound(str(exc)) from exc
    except MergeRefused as exc:
        raise Conflict(str(exc)) from exc
    log.info("customer.unmerged", merge_id=str(done.id), customer_id=str(done.customer_id), unmerged_by=by)
    await _announce(pool, engine, "customer_unmerged", done)
    return merge_out(done)


async def link_customer(
    pool: asyncpg.Pool, engine: Engine, agent_id: str, interaction_id: str, customer_id: str
) -> MergeOut:
    """An agent confirms that the contact of work it holds now is ``customer_id``: the contact's customer
    is merged into it. Refused (nothing changed) when the agent does not hold the work, an id is unknown,
    the contact already is that customer, or either customer was merged away."""
    iid, target = parse_uuid(interaction_id), parse_uuid(customer_id)
    it = await interactions.get(pool, engine.namespace, iid) if iid else None
    if it is None:
        raise NotFound(f"interaction {interaction_id} not found")
    if it.agent_id != agent_id or it.status not in (InteractionStatus.assigned, InteractionStatus.wrapup):
        raise Forbidden(f"interaction {interaction_id} is not held by you")
    if target is None:
        raise NotFound(f"customer {customer_id} not found")
    if target == it.customer_id:
        raise Conflict(f"the contact already is customer {customer_id}")
    return await merge(
        pool, engine, str(target), it.customer_id, reason=AGENT_VERIFIED, by=f"agent:{agent_id}"
    )


async def _announce(pool: asyncpg.Pool, engine: Engine, kind: str, done: Merge) -> None:
    """One event for the merge (supervisors, replay), then one per interaction held now by an agent whose
    context changed, for the process that holds that agent's desktop. Customers are shared by every
    routing domain, but agents and their desktops are a domain's own: the desktops of this domain are told
    at once, those of other domains see the new context at their next ``hello`` or offer.

    The merge is committed by then and is the truth: if Redis does not answer, the request still succeeds
    (an error would invite a retry of what is done) and the desktops see the new context at their next
    ``hello`` or offer; the failure is logged."""
    try:
        await _publish_all(pool, engine, kind, done)
    except UNAVAILABLE as exc:
        log.warning("customer.merge_not_announced", merge_id=str(done.id), error=type(exc).__name__)


async def _publish_all(pool: asyncpg.Pool, engine: Engine, kind: str, done: Merge) -> None:
    await publish(
        engine,
        kind,
        {
            "merge_id": str(done.id),
            "customer_id": str(done.customer_id),
            "other_customer_id": str(done.other_customer_id),
            "by": done.unmerged_by if done.unmerged_at else done.merged_by,
        },
    )
    for work in await merges.held_work(pool, engine.namespace, (done.customer_id, done.other_customer_id)):
        await publish(
            engine,
            "context_changed",
            {"interaction_id": str(work.id), "agent_id": work.agent_id, "merge_id": str(done.id)},
        )
