"""Report queries: KPI counts per interval and key, and agents' handling time per interval."""

from __future__ import annotations

from datetime import datetime

from context_store.db import Conn, q
from context_store.records import AgentBusy, KpiCounts

GROUPS = ("queue", "channel", "agent", "none")


async def kpi_counts(
    conn: Conn,
    *,
    start: datetime,
    end: datetime,
    tz: str,
    interval_seconds: int,
    group_by: str,
    fcr_window_seconds: int,
) -> list[KpiCounts]:
    """Counts per interval (local to ``tz``; 86400 seconds: calendar days) and key, for interactions that
    arrived in ``[start, end)``."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}")
    rows = await conn.fetch(q("kpi_counts"), start, end, tz, interval_seconds, group_by, fcr_window_seconds)
    return [KpiCounts(**r) for r in rows]


async def agent_busy(
    conn: Conn, *, start: datetime, end: datetime, tz: str, interval_seconds: int
) -> list[AgentBusy]:
    """Per agent and interval, the seconds of handling inside the interval (clipped to the range)."""
    rows = await conn.fetch(q("kpi_agent_busy"), start, end, tz, interval_seconds)
    return [AgentBusy(**r) for r in rows]
