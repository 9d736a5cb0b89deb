"""Forecast and staffing plan from a queue's recorded contacts (``GET /v1/reports/forecast``,
``omniroute forecast``; ``docs/reports.md``).

1. **History.** The queue's arrivals per local wall-clock interval of ``[server] timezone`` (one indexed
   query), over the last ``forecast_history_weeks`` whole weeks ending at today's local midnight, as a
   regular series of ``1440 / interval`` slots a day (empty slots are zeros).
2. **Model.** Holt-Winters exponential smoothing (statsmodels ``ExponentialSmoothing``), additive, no
   trend, one seasonal period of a **week** of intervals. A weekly season holds the intraday pattern of
   each weekday too, so one season covers both, and the model stays small enough to fit in well under a
   second on a few weeks. It is robust where richer models are not: with three to eight weeks of
   history, a model of two seasonalities (MSTL, unobserved components with two frequency seasonals) has
   too few cycles of the weekly one to separate them and is slower by orders of magnitude; Holt-Winters
   estimates each interval-of-the-week as an exponentially weighted average over every week seen, which
   averages out the noise that seasonal-naive repeats, and its level follows a center that grows or
   shrinks. Up to ``ESTIMATED_MAX_WEEKS`` weeks the initial season is estimated with the smoothing
   parameters (every week informs it); past that the heuristic start is as good (the smoothing has
   forgotten it long before the end) and fitting a year stays quick.
3. **Backtest.** The last whole week is held out: the model fitted on the weeks before forecasts it,
   and so does seasonal-naive (each interval as the same interval a week earlier); both WAPEs are given.
4. **Staffing.** Each forecast interval's arrivals, with the AHT measured over the history (talk plus
   wrap-up) and the customers' patience, give the agents needed for ``[reports] service_level_target``
   of contacts answered within the queue's ``service_level_seconds``: Erlang C, or Erlang A when the
   history has abandons (patience estimated as all waiting time over the number of abandons, the
   maximum-likelihood estimate of an exponential patience whose answered contacts are censored, where
   the mean time to abandon of those who left would underestimate it). Agents to schedule are the agents
   needed over ``1 - [reports] shrinkage``.
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import io
import math
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from context_store import forecast as forecast_store
from router.contracts import Backtest, BacktestInterval, ForecastInterval, ForecastReport, is_timezone
from router.errors import BadRequest, NotFound, OmnirouteError
from router.service import erlang

INTERVALS = {"15": 15, "15m": 15, "30": 30, "30m": 30, "60": 60, "1h": 60}
MAX_HORIZON_DAYS = 28
MIN_WEEKS = 3
"""Two weeks to fit the backtest's model on (Holt-Winters needs two seasons to start) and the held-out one."""
ESTIMATED_MAX_WEEKS = 12
FORECAST_EXTRA_HINT = "pip install 'omniroute[forecast]'"
MODEL_NAME = "Holt-Winters (statsmodels ExponentialSmoothing): additive weekly season, no trend"


class ForecastUnavailable(OmnirouteError):
    status, code, title = 501, "forecast_unavailable", "Forecasting is not installed"


@dataclass(frozen=True)
class ForecastQuery:
    queue: str
    interval_minutes: int
    horizon_days: int
    tz: str
    history_weeks: int

    @property
    def slots_per_day(self) -> int:
        return 1440 // self.interval_minutes

    @property
    def period(self) -> int:
        """Intervals in a week: the seasonal period."""
        return 7 * self.slots_per_day


def _invalid(name: str, msg: str) -> BadRequest:
    return BadRequest(f"{name}: {msg}", errors=[{"loc": ["query", name], "msg": msg, "type": "value_error"}])


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, f"an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise _invalid(name, f"an integer from {low} to {high}")
    return value


def parse_query(query: dict[str, str], *, default_tz: str, default_weeks: int) -> ForecastQuery:
    """The forecast's parameters from a query string; :class:`BadRequest` (422) naming the first bad one."""
    queue = query.get("queue") or ""
    if not queue:
        raise _invalid("queue", "required: the queue's id")
    interval = INTERVALS.get(query.get("interval") or "30")
    if interval is None:
        raise _invalid("interval", "one of 15, 30, 60 (minutes)")
    horizon = _int(query, "horizon_days", 7, 1, MAX_HORIZON_DAYS)
    weeks = _int(query, "history_weeks", default_weeks, MIN_WEEKS, 104)
    tz = query.get("tz") or default_tz
    if not is_timezone(tz):
        raise _invalid("tz", "not an IANA time zone (America/Los_Angeles, UTC…)")
    return ForecastQuery(queue, interval, horizon, tz, weeks)


# ---------------------------------------------------------------- the model (pure, CPU-bound)


def statsmodels_installed() -> bool:
    return importlib.util.find_spec("statsmodels") is not None


Smoothing = tuple[float, float]
"""The smoothing parameters of a fit: level (alpha) and season (gamma)."""


def holt_winters(
    series: list[float], period: int, steps: int, smoothing: Smoothing | None = None
) -> tuple[list[float], Smoothing | None]:
    """Fit Holt-Winters (additive weekly season, no trend) on ``series`` and forecast ``steps`` intervals,
    never below zero; with the smoothing parameters of the fit. ``series`` holds at least two seasons.

    ``smoothing`` (from a fit of the same series less its last week) is reused instead of optimized
    when the initial season is heuristic: on a long history the optimizer is most of the time, and a
    week more moves the parameters by little."""
    if not any(series):
        return [0.0] * steps, None
    # statsmodels (and numpy, which it brings) is the optional ``forecast`` extra: imported when a
    # forecast is asked for, so a server without it starts and answers the endpoint with a 501
    import numpy as np
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = np.asarray(series, dtype=float)
    weeks = len(y) // period
    init = "estimated" if weeks <= ESTIMATED_MAX_WEEKS else "legacy-heuristic"
    with warnings.catch_warnings():
        # an optimizer that stops at its iteration limit still leaves a usable fit
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = ExponentialSmoothing(
            y, trend=None, seasonal="add", seasonal_periods=period, initialization_method=init
        )
        if smoothing is not None and init != "estimated":
            fitted = model.fit(smoothing_level=smoothing[0], smoothing_seasonal=smoothing[1], optimized=False)
        else:
            fitted = model.fit()
        out = np.asarray(fitted.forecast(steps), dtype=float)
    params = (float(fitted.params["smoothing_level"]), float(fitted.params["smoothing_seasonal"]))
    return [float(v) for v in np.clip(np.nan_to_num(out, nan=0.0), 0.0, None)], params


def wape(actual: list[float], forecast: list[float]) -> float | None:
    """Weighted absolute percentage error: sum |actual - forecast| / sum actual (None: nothing arrived)."""
    total = sum(actual)
    error = sum(abs(a - f) for a, f in zip(actual, forecast, strict=True))
    return round(error / total, 4) if total > 0 else None


@dataclass(frozen=True)
class Staffing:
    aht: float | None
    patience: float | None
    sl_seconds: float
    target: float
    shrinkage: float

    @property
    def model(self) -> Literal["erlang_c", "erlang_a"]:
        """Erlang A when customers are seen to abandon (a patience was measured), else Erlang C."""
        return "erlang_a" if self.patience is not None else "erlang_c"


def staff(
    forecast: float, interval_seconds: int, s: Staffing, cache: dict[float, tuple[int, float | None]]
) -> tuple[float | None, int | None, int | None, float | None]:
    """(traffic in Erlangs, agents needed, agents to schedule, predicted service level) of one interval."""
    if s.aht is None:
        return None, None, None, None
    load = forecast / interval_seconds * s.aht
    key = round(load, 3)
    if key not in cache:
        needed = erlang.required_agents(key, s.aht, erlang.Target(s.target, s.sl_seconds), s.patience)
        sl = erlang.metrics(needed, key, s.aht, s.sl_seconds, s.patience).service_level if needed else None
        cache[key] = (needed, sl)
    needed, sl = cache[key]
    scheduled = math.ceil(needed / (1.0 - s.shrinkage) - 1e-9) if needed else 0
    return round(load, 4), needed, scheduled, None if sl is None else round(sl, 4)


def _local(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _slot_times(first_day: date, count: int, minutes: int, zone: ZoneInfo) -> list[datetime]:
    """Local wall-clock starts of ``count`` intervals from ``first_day``'s midnight (each day cut from
    its own midnight)."""
    per_day = 1440 // minutes
    out = []
    for i in range(count):
        d, slot = divmod(i, per_day)
        day = first_day + timedelta(days=d)
        out.append(datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=slot * minutes))
    return out


def build_report(
    fq: ForecastQuery,
    *,
    first_day: date,
    y: list[float],
    staffing: Staffing,
    mean_abandon: float | None,
) -> ForecastReport:
    """The backtest, the forecast and the staffing plan from the history ``y`` (whole weeks of local
    intervals from ``first_day``)."""
    zone = ZoneInfo(fq.tz)
    period, minutes = fq.period, fq.interval_minutes
    weeks = len(y) // period
    train, held = y[:-period], y[-period:]
    naive = y[-2 * period : -period]
    back, smoothing = holt_winters(train, period, period)
    back_start = first_day + timedelta(days=7 * (weeks - 1))
    back_times = _slot_times(back_start, period, minutes, zone)
    backtest = Backtest(
        start=_local(back_start, zone),
        end=_local(back_start + timedelta(days=7), zone),
        actual=int(sum(held)),
        wape=wape(held, back),
        seasonal_naive_wape=wape(held, naive),
        intervals=[
            BacktestInterval(
                interval_start=t, actual=int(a), forecast=round(float(f), 3), seasonal_naive=float(n)
            )
            for t, a, f, n in zip(back_times, held, back, naive, strict=True)
        ],
    )
    steps = fq.horizon_days * fq.slots_per_day
    ahead, _ = holt_winters(y, period, steps, smoothing)
    end_day = first_day + timedelta(days=7 * weeks)
    cache: dict[float, tuple[int, float | None]] = {}
    rows = []
    for t, f in zip(_slot_times(end_day, steps, minutes, zone), ahead, strict=True):
        load, needed, scheduled, sl = staff(float(f), minutes * 60, staffing, cache)
        rows.append(
            ForecastInterval(
                interval_start=t,
                interval_end=t + timedelta(minutes=minutes),
                forecast=round(float(f), 3),
                traffic_erlangs=load,
                agents_needed=needed,
                agents_scheduled=scheduled,
                service_level=sl,
            )
        )
    init = "estimated" if weeks <= ESTIMATED_MAX_WEEKS else "heuristic"
    return ForecastReport(
        queue=fq.queue,
        tz=fq.tz,
        interval_minutes=minutes,
        horizon_days=fq.horizon_days,
        history_start=_local(first_day, zone),
        history_end=_local(end_day, zone),
        history_weeks=weeks,
        history_arrivals=int(sum(y)),
        model=f"{MODEL_NAME}, season of {period} intervals, {init} initial season",
        aht_seconds=None if staffing.aht is None else round(staffing.aht, 3),
        patience_seconds=None if staffing.patience is None else round(staffing.patience, 3),
        mean_abandon_seconds=None if mean_abandon is None else round(mean_abandon, 3),
        staffing_model=staffing.model,
        service_level_target=staffing.target,
        service_level_seconds=staffing.sl_seconds,
        shrinkage=staffing.shrinkage,
        backtest=backtest,
        intervals=rows,
    )


# ---------------------------------------------------------------- the service


class Forecasts:
    """Reads a queue's history from PostgreSQL and fits the model in a worker thread."""

    def __init__(
        self, pool: asyncpg.Pool, namespace: str, *, shrinkage: float, service_level_target: float
    ) -> None:
        self.pool = pool
        self.namespace = namespace
        self.shrinkage = shrinkage
        self.target = service_level_target

    async def forecast(self, fq: ForecastQuery, *, today: date | None = None) -> ForecastReport:
        if not statsmodels_installed():
            raise ForecastUnavailable(
                f"the forecast needs statsmodels, in the forecast extra: {FORECAST_EXTRA_HINT}"
            )
        zone = ZoneInfo(fq.tz)
        today = today or datetime.now(zone).date()
        first_day = today - timedelta(days=7 * fq.history_weeks)
        start, end = _local(first_day, zone), _local(today, zone)
        totals = await forecast_store.handling(self.pool, self.namespace, fq.queue, start=start, end=end)
        if totals is None:
            raise NotFound(f"queue {fq.queue} not found")
        counts = await forecast_store.arrivals(
            self.pool,
            self.namespace,
            fq.queue,
            start=start,
            end=end,
            tz=fq.tz,
            interval_seconds=fq.interval_minutes * 60,
        )
        y = [0.0] * (7 * fq.history_weeks * fq.slots_per_day)
        origin = datetime(first_day.year, first_day.month, first_day.day)
        for c in counts:
            local = c.interval_start.astimezone(zone).replace(tzinfo=None)  # the local wall clock
            i = (
                int((local - origin).total_seconds() // 86400) * fq.slots_per_day
                + (local.hour * 60 + local.minute) // fq.interval_minutes
            )
            if 0 <= i < len(y):
                y[i] += c.arrivals
        # weeks before the queue's first contact are not history: start at the first week with one
        if counts:
            lead = next((i for i, v in enumerate(y) if v > 0), len(y)) // fq.period
            y, first_day = y[lead * fq.period :], first_day + timedelta(days=7 * lead)
        weeks = len(y) // fq.period if counts else 0
        if weeks < MIN_WEEKS:
            raise BadRequest(
                f"queue {fq.queue} has {weeks} whole weeks of arrivals before today; the forecast needs"
                f" at least {MIN_WEEKS} (two to fit on and one to hold out)",
                errors=[{"loc": ["query", "queue"], "msg": "too little history", "type": "value_error"}],
            )
        aht = totals.handle_seconds / totals.handled if totals.handled and totals.handle_seconds else None
        waited = (totals.abandon_wait_seconds or 0.0) + (totals.answer_wait_seconds or 0.0)
        patience = waited / totals.abandoned if totals.abandoned and waited > 0 else None
        mean_abandon = (
            totals.abandon_wait_seconds / totals.abandoned
            if totals.abandoned and totals.abandon_wait_seconds is not None
            else None
        )
        staffing = Staffing(aht, patience, totals.service_level_seconds, self.target, self.shrinkage)
        return await asyncio.to_thread(
            build_report, fq, first_day=first_day, y=y, staffing=staffing, mean_abandon=mean_abandon
        )


CSV_COLUMNS = tuple(ForecastInterval.model_fields)


def forecast_csv(report: ForecastReport) -> str:
    """The staffing plan as CSV (a header line; empty cells for nulls): one line per forecast interval."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.intervals:
        data = row.model_dump(mode="json")
        writer.writerow(["" if data[col] is None else data[col] for col in CSV_COLUMNS])
    return out.getvalue()


FORECASTS = web.AppKey("forecasts", Forecasts)
