"""Agents' presence history, per routing domain: every change of state and not-ready reason, and the time
spent in each."""

from __future__ import annotations

from datetime import datetime

from context_store.db import Conn, q
from context_store.records import StateChange, StateTotal


async def record_change(
    conn: Conn, namespace: str, agent_id: str, state: str, reason: str, at: datetime, event_id: str
) -> None:
    """Record one change; the same ``event_id`` of the domain recorded twice is kept once."""
    await conn.execute(q("agent_state_insert"), namespace, agent_id, state, reason, at, event_id)


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
