"""Report queries: KPI counts per interval and key, and agents' handling time per interval."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from context_store.db import q
from context_store.records import AgentBusy, KpiCounts

GROUPS = ("queue", "channel", "agent", "none")
WORK_MEM = "64MB"
"""A report sorts a month of contacts (about 100,000 rows of a large center): in memory, not in temporary
files, for its own transaction only."""


async def _report(pool: asyncpg.Pool, name: str, *args: Any) -> list[asyncpg.Record]:
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute(q("report_work_mem"), WORK_MEM)
        rows: list[asyncpg.Record] = await conn.fetch(q(name), *args)
        return rows


async def kpi_counts(
    pool: asyncpg.Pool,
    namespace: str,
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
    rows = await _report(
        pool, "kpi_counts", start, end, tz, interval_seconds, group_by, fcr_window_seconds, namespace
    )
    return [KpiCounts(**r) for r in rows]


async def agent_busy(
    pool: asyncpg.Pool, namespace: str, *, start: datetime, end: datetime, tz: str, interval_seconds: int
) -> list[AgentBusy]:
    """Per agent and interval, the seconds of handling and the seconds available without work inside the
    interval (clipped to the range), from the handle spans and the presence history."""
    rows = await _report(pool, "kpi_agent_busy", start, end, tz, interval_seconds, namespace)
    return [AgentBusy(**r) for r in rows]
