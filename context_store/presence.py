"""Agents' presence history: every change of state and not-ready reason, and the time spent in each."""

from __future__ import annotations

from datetime import datetime

from context_store.db import Conn, q
from context_store.records import StateChange, StateTotal


async def record_change(
    conn: Conn, agent_id: str, state: str, reason: str, at: datetime, event_id: str
) -> None:
    """Record one change; the same ``event_id`` recorded twice is kept once."""
    await conn.execute(q("agent_state_insert"), agent_id, state, reason, at, event_id)


async def totals(conn: Conn, agent_id: str, start: datetime, end: datetime) -> list[StateTotal]:
    """Seconds per state and reason between ``start`` and ``end`` (see the query's header)."""
    return [StateTotal(**r) for r in await conn.fetch(q("agent_state_totals"), agent_id, start, end)]


async def changes(
    conn: Conn, agent_id: str, start: datetime, end: datetime, limit: int = 1000
) -> list[StateChange]:
    return [StateChange(**r) for r in await conn.fetch(q("agent_state_changes"), agent_id, start, end, limit)]
