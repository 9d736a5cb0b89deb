"""KPIs over any range, from PostgreSQL.

The store returns counts and sums per interval and key (``context_store/sql/reports.sql``, indexed by
arrival time); the rates and averages are computed here, each as its field of
:class:`router.contracts.KpiRow` describes it and ``docs/reports.md`` explains it."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from context_store import reports as report_store
from context_store.records import KpiCounts
from router.contracts import KpiReport, KpiRow, ReportGroup, ReportInterval, is_timezone
from router.errors import BadRequest

MAX_RANGE_DAYS = 400
MAX_INTERVALS = 20_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class KpiQuery:
    start: datetime
    end: datetime
    tz: str
    interval: ReportInterval
    group_by: ReportGroup


def _invalid(name: str, msg: str) -> BadRequest:
    return BadRequest(f"{name}: {msg}", errors=[{"loc": ["query", name], "msg": msg, "type": "value_error"}])


def _moment(name: str, raw: str | None, zone: ZoneInfo) -> datetime:
    """A date (midnight of that day in the report's zone), ``today`` or ``tomorrow`` (midnight of that
    day in the report's zone, as the wallboard asks) or an ISO 8601 date-time (without an offset: in the
    report's zone)."""
    if not raw:
        raise _invalid(name, "required: a date (2026-03-01) or an ISO 8601 date-time")
    if raw in ("today", "tomorrow"):
        d = datetime.now(zone).date() + timedelta(days=1 if raw == "tomorrow" else 0)
        return datetime(d.year, d.month, d.day, tzinfo=zone)
    try:
        if _DATE.match(raw):
            d = date.fromisoformat(raw)
            return datetime(d.year, d.month, d.day, tzinfo=zone)
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise _invalid(name, "not a date (2026-03-01) or an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def parse_query(query: dict[str, str], default_tz: str) -> KpiQuery:
    """The report's parameters from a query string; :class:`BadRequest` (422) naming the first bad one."""
    tz = query.get("tz") or default_tz
    if not is_timezone(tz):
        raise _invalid("tz", "not an IANA time zone (America/Los_Angeles, UTC…)")
    zone = ZoneInfo(tz)
    try:
        interval = ReportInterval(query.get("interval") or "1h")
    except ValueError:
        raise _invalid("interval", "one of 15m, 30m, 1h, 1d") from None
    try:
        group_by = ReportGroup(query.get("group_by") or "none")
    except ValueError:
        raise _invalid("group_by", "one of queue, channel, agent, none") from None
    start = _moment("from", query.get("from"), zone)
    end = _moment("to", query.get("to"), zone)
    if end <= start:
        raise _invalid("to", "must be after from")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise _invalid("to", f"the range is at most {MAX_RANGE_DAYS} days")
    if (end - start).total_seconds() / interval.seconds > MAX_INTERVALS:
        raise _invalid("interval", f"at most {MAX_INTERVALS} intervals: choose a longer interval")
    return KpiQuery(start, end, tz, interval, group_by)


def _ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def _mean(total: float | None, count: int) -> float | None:
    return round(total / count, 3) if count and total is not None else None


def _interval_end(start: datetime, interval: ReportInterval, zone: ZoneInfo) -> datetime:
    local = start.astimezone(zone)
    if interval is ReportInterval.d1:
        nxt = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return (local + timedelta(seconds=interval.seconds)).astimezone(zone)


def kpi_row(
    c: KpiCounts | None,
    *,
    start: datetime,
    end: datetime,
    key: str,
    busy_seconds: float | None,
    idle_seconds: float = 0.0,
) -> KpiRow:
    """One row of KPIs from its counts (None: the agent held work or was available in the interval but
    no contact assigned to them arrived in it) and, per agent, the seconds spent handling work and the
    seconds available without work: occupancy is handling / (handling + available idle)."""
    occupancy = None if busy_seconds is None else _ratio(busy_seconds, busy_seconds + idle_seconds)
    if c is None:
        return KpiRow(
            interval_start=start, interval_end=end, key=key, offered=0, answered=0, abandoned=0,
            answered_in_sl=0, service_level=None, asa_seconds=None, aht_seconds=None,
            abandonment_rate=None, transfer_rate=None, fcr_rate=None, ttr_seconds=None,
            occupancy=occupancy, csat=None, nps=None, ces=None, surveys=0,
        )  # fmt: skip
    return KpiRow(
        interval_start=start,
        interval_end=end,
        key=key,
        offered=c.offered,
        answered=c.answered,
        abandoned=c.abandoned,
        answered_in_sl=c.answered_in_sl,
        # of the contacts that stopped waiting, the share answered within the threshold
        service_level=_ratio(c.answered_in_sl, c.answered + c.abandoned),
        asa_seconds=_mean(c.wait_seconds, c.answered),
        aht_seconds=_mean(c.handle_seconds, c.handled),
        abandonment_rate=_ratio(c.abandoned, c.offered),
        transfer_rate=_ratio(c.transferred, c.answered),
        fcr_rate=_ratio(c.resolved_first, c.resolved),
        ttr_seconds=_mean(c.resolution_seconds, c.resolved),
        occupancy=occupancy,
        csat=_ratio(c.csat_satisfied, c.csat_answers),
        nps=round(100 * (c.nps_promoters - c.nps_detractors) / c.nps_answers, 2) if c.nps_answers else None,
        ces=_mean(float(c.ces_total), c.ces_answers),
        surveys=c.csat_answers + c.nps_answers + c.ces_answers,
    )


class Reports:
    """The KPI report: one indexed query for the counts, one more per agent for occupancy."""

    def __init__(self, pool: asyncpg.Pool, namespace: str, *, fcr_window_hours: float) -> None:
        self.pool = pool
        self.namespace = namespace
        self.fcr_window_seconds = int(fcr_window_hours * 3600)

    async def kpis(self, kq: KpiQuery) -> KpiReport:
        zone = ZoneInfo(kq.tz)
        counts = await report_store.kpi_counts(
            self.pool,
            self.namespace,
            start=kq.start,
            end=kq.end,
            tz=kq.tz,
            interval_seconds=kq.interval.seconds,
            group_by=kq.group_by.value,
            fcr_window_seconds=self.fcr_window_seconds,
        )
        by_slot: dict[tuple[datetime, str], KpiCounts] = {(c.interval_start, c.key): c for c in counts}
        busy: dict[tuple[datetime, str], tuple[float, float]] = {}
        if kq.group_by is ReportGroup.agent:
            for b in await report_store.agent_busy(
                self.pool,
                self.namespace,
                start=kq.start,
                end=kq.end,
                tz=kq.tz,
                interval_seconds=kq.interval.seconds,
            ):
                busy[(b.interval_start, b.key)] = (b.busy_seconds, b.idle_seconds)
        rows = []
        for start, key in sorted(set(by_slot) | set(busy)):
            end = _interval_end(start, kq.interval, zone)
            handled, idle = busy.get((start, key), (0.0, 0.0))
            rows.append(
                kpi_row(
                    by_slot.get((start, key)),
                    start=start.astimezone(zone),
                    end=end,
                    key=key,
                    busy_seconds=handled if kq.group_by is ReportGroup.agent else None,
                    idle_seconds=idle,
                )
            )
        return KpiReport(
            start=kq.start.astimezone(zone),
            to=kq.end.astimezone(zone),
            tz=kq.tz,
            interval=kq.interval,
            group_by=kq.group_by,
            rows=rows,
        )


CSV_COLUMNS = tuple(KpiRow.model_fields)


def kpi_csv(report: KpiReport) -> str:
    """The rows as CSV (RFC 4180, a header line; empty cells for nulls). Every cell is a number, a
    date-time or an id, so no cell can start a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        data = row.model_dump(mode="json")
        writer.writerow(["" if data[col] is None else data[col] for col in CSV_COLUMNS])
    return out.getvalue()


REPORTS = web.AppKey("reports", Reports)
