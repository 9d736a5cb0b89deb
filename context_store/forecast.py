"""Forecast queries: one queue's arrivals per local interval, and its handling totals for staffing."""

from __future__ import annotations

from datetime import datetime

from context_store.db import Conn, q
from context_store.records import ArrivalCount, HandlingTotals


async def arrivals(
    conn: Conn,
    namespace: str,
    queue_id: str,
    *,
    start: datetime,
    end: datetime,
    tz: str,
    interval_seconds: int,
) -> list[ArrivalCount]:
    """Arrivals in ``[start, end)`` per local interval of ``tz``; empty intervals are left out."""
    rows = await conn.fetch(q("forecast_arrivals"), namespace, queue_id, start, end, tz, interval_seconds)
    return [ArrivalCount(**r) for r in rows]


async def handling(
    conn: Conn, namespace: str, queue_id: str, *, start: datetime, end: datetime
) -> HandlingTotals | None:
    """The queue's handling totals over ``[start, end)``; None when the queue is not configured."""
    row = await conn.fetchrow(q("forecast_handling"), namespace, queue_id, start, end)
    return HandlingTotals(**row) if row is not None else None
