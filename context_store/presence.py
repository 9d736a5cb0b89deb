"""Agents' presence history, per routing domain: every change of state and not-ready reason, and the time
spent in each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from context_store.db import Conn, q
from context_store.records import StateChange, StateTotal


async def record_change(
    conn: Conn, namespace: str, agent_id: str, state: str, reason: str, at: datetime, event_id: str
) -> None:
    """Record one change; the same ``event_id`` of the domain recorded twice is kept once."""
    await conn.execute(q("agent_state_insert"), namespace, agent_id, state, reason, at, event_id)


StateRow = tuple[str, str, str, datetime, str]
"""One change of presence as a batch gives it: agent id, state, reason, at, event id."""


async def record_changes(conn: Conn, namespace: str, rows: Sequence[StateRow]) -> None:
    """Record a batch of changes in one statement, in their order, each as :func:`record_change` would."""
    if rows:
        await conn.execute(q("agent_states_insert"), namespace, *columns(rows))


def columns(rows: Sequence[StateRow]) -> tuple[list[str], list[str], list[str], list[datetime], list[str]]:
    """The batch as the insert's arrays: agent ids, states, reasons, ats, event ids."""
    return (
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    )


async def totals(
    conn: Conn, namespace: str, agent_id: str, start: datetime, end: datetime
) -> list[StateTotal]:
    """Seconds per state and reason between ``start`` and ``end`` (see the query's header)."""
    rows = await conn.fetch(q("agent_state_totals"), namespace, agent_id, start, end)
    return [StateTotal(**r) for r in rows]


async def changes(
    conn: Conn, namespace: str, agent_id: str, start: datetime, end: datetime, limit: int = 1000
) -> list[StateChange]:
    rows = await conn.fetch(q("agent_state_changes"), namespace, agent_id, start, end, limit)
    return [StateChange(**r) for r in rows]
