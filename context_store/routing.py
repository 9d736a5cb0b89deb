"""What routing decided for each interaction (the decision log behind ``GET …/routing``), the reject
cooldowns still running, the agents an interaction must never be offered to, and who last served a
customer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from context_store import presence
from context_store.db import Conn, as_uuid, q
from context_store.records import JSONObject, RoutingDecisionRecord, from_row


async def record_decision(
    conn: Conn,
    namespace: str,
    event_id: str,
    interaction_id: uuid.UUID | str,
    kind: str,
    agent_id: str | None,
    detail: JSONObject,
    at: datetime,
) -> None:
    """Record one decision; the same event recorded again (by another process) is ignored, and so is an
    event of an interaction the record does not hold."""
    await conn.execute(
        q("decision_insert"), namespace, event_id, as_uuid(interaction_id), kind, agent_id, detail, at
    )


async def record_decisions(
    conn: Conn,
    namespace: str,
    decisions: Sequence[tuple[str, uuid.UUID | str, str, str | None, JSONObject, datetime]],
) -> None:
    """Record a batch of decisions (event id, interaction id, kind, agent id, detail, at) in one round
    trip, each as :func:`record_decision` would."""
    if decisions:
        await conn.executemany(
            q("decision_insert"),
            [
                (namespace, e, as_uuid(i), kind, agent, detail, at)
                for e, i, kind, agent, detail, at in decisions
            ],
        )


async def record_events(
    conn: Conn,
    namespace: str,
    decisions: Sequence[tuple[str, uuid.UUID | str, str, str | None, JSONObject, datetime]],
    changes: Sequence[presence.StateRow],
) -> None:
    """Record a batch of the domain's event stream in one statement: its decisions (as
    :func:`record_decisions`) and its agents' changes of presence (as :func:`presence.record_changes`)."""
    if not changes:
        await record_decisions(conn, namespace, decisions)
    elif not decisions:
        await presence.record_changes(conn, namespace, changes)
    else:
        await conn.execute(
            q("routing_events_insert"),
            namespace,
            [d[0] for d in decisions],
            [as_uuid(d[1]) for d in decisions],
            [d[2] for d in decisions],
            [d[3] for d in decisions],
            [json.dumps(d[4]) for d in decisions],
            [d[5] for d in decisions],
            *presence.columns(changes),
        )


async def decisions(conn: Conn, interaction_id: uuid.UUID | str) -> list[RoutingDecisionRecord]:
    rows = await conn.fetch(q("decisions_of_interaction"), as_uuid(interaction_id))
    return [from_row(RoutingDecisionRecord, r) for r in rows]


async def missed_counts(conn: Conn, namespace: str, since: datetime) -> dict[str, int]:
    """Offers each agent of the domain let time out since ``since``."""
    return {r["agent_id"]: r["missed"] for r in await conn.fetch(q("missed_counts"), since, namespace)}


async def exclude(conn: Conn, interaction_id: uuid.UUID | str, agent_id: str, until: datetime) -> None:
    """The agent rejected the interaction: not offered it again before ``until``."""
    await conn.execute(q("exclusion_put"), as_uuid(interaction_id), agent_id, until)


async def set_avoid(conn: Conn, interaction_id: uuid.UUID | str, agents: list[str]) -> None:
    await conn.execute(q("interaction_set_avoid"), as_uuid(interaction_id), agents)


async def last_agent(conn: Conn, namespace: str, customer_id: uuid.UUID | str) -> str | None:
    """The domain's agent who last held work of this customer, on any channel."""
    value = await conn.fetchval(q("last_agent_of_customer"), as_uuid(customer_id), namespace)
    return str(value) if value is not None else None
