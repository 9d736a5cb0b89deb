"""``omniroute forecast``: a queue's arrivals forecast from its recorded contacts, the backtest and the
staffing plan, read straight from the center's PostgreSQL (as ``GET /v1/reports/forecast`` answers it).

    omniroute forecast --config omniroute.toml --queue support --interval 30 --horizon-days 7
    omniroute forecast --config omniroute.toml --queue support --csv > plan.csv

The database is ``DATABASE_URL`` (or the file's ``database_url``); the routing domain, the time zone,
the shrinkage and the service-level target are the file's (``[routing] namespace``, ``[server] timezone``,
``[reports]``). The model and the staffing are ``router.service.forecast``'s; this prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from context_store.db import create_pool
from router.config import ConfigError, load_settings
from router.contracts import ForecastReport
from router.errors import OmnirouteError
from router.service.forecast import (
    FORECAST_EXTRA_HINT,
    Forecasts,
    forecast_csv,
    parse_query,
    statsmodels_installed,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", required=True, help="the queue's id")
    parser.add_argument("--interval", default="30", choices=["15", "30", "60"], help="minutes per interval")
    parser.add_argument("--horizon-days", type=int, default=7, help="days to forecast from today (1-28)")
    parser.add_argument(
        "--history-weeks",
        type=int,
        default=None,
        help="weeks of history to fit on, the last held out (default [reports] forecast_history_weeks)",
    )
    parser.add_argument(
        "--tz", default=None, help="IANA time zone of the intervals (default [server] timezone)"
    )
    parser.add_argument("--config", default=None, help="the server's TOML configuration")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="print the staffing plan as CSV")
    out.add_argument("--json", action="store_true", help="print the whole forecast as JSON")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def format_report(r: ForecastReport) -> str:
    b = r.backtest
    model = "Erlang A" if r.staffing_model == "erlang_a" else "Erlang C"
    lines = [
        f"queue {r.queue}: {r.history_weeks} weeks of history, {r.history_start:%Y-%m-%d} to"
        f" {r.history_end:%Y-%m-%d} ({r.tz}), {r.history_arrivals:,} contacts",
        f"model: {r.model}",
        f"backtest on the held-out week {b.start:%Y-%m-%d} to {b.end:%Y-%m-%d} ({b.actual:,} contacts):"
        f" WAPE {_pct(b.wape)}, seasonal-naive WAPE {_pct(b.seasonal_naive_wape)}",
        f"staffing: {model}, AHT "
        + ("not measured" if r.aht_seconds is None else f"{r.aht_seconds:.1f} s")
        + ("" if r.patience_seconds is None else f", patience {r.patience_seconds:.1f} s")
        + f", target {r.service_level_target:.0%} within {r.service_level_seconds:g} s,"
        f" shrinkage {r.shrinkage:.0%}",
        "",
    ]
    head = f"{'interval':<16}  {'forecast':>8}  {'erlangs':>7}  {'agents':>6}  {'schedule':>8}  {'SL':>6}"
    lines += [head, "-" * len(head)]
    for row in r.intervals:
        lines.append(
            f"{row.interval_start:%Y-%m-%d %H:%M}  {row.forecast:>8.1f}  "
            + ("-" if row.traffic_erlangs is None else f"{row.traffic_erlangs:.2f}").rjust(7)
            + "  "
            + ("-" if row.agents_needed is None else str(row.agents_needed)).rjust(6)
            + "  "
            + ("-" if row.agents_scheduled is None else str(row.agents_scheduled)).rjust(8)
            + "  "
            + _pct(row.service_level).rjust(6)
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if not statsmodels_installed():
        print(
            f"omniroute forecast needs the forecast extra (statsmodels not installed): {FORECAST_EXTRA_HINT}",
            file=sys.stderr,
        )
        return 2
    try:
        settings = load_settings(args.config, dict(os.environ))
    except ConfigError as exc:
        print(f"omniroute forecast: {exc}", file=sys.stderr)
        return 2
    if not settings.database_url:
        print("omniroute forecast: set DATABASE_URL (or database_url in --config)", file=sys.stderr)
        return 2
    cfg = settings.file
    query = {"queue": args.queue, "interval": args.interval, "horizon_days": str(args.horizon_days)}
    if args.history_weeks is not None:
        query["history_weeks"] = str(args.history_weeks)
    if args.tz:
        query["tz"] = args.tz
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        fq = parse_query(
            query, default_tz=cfg.server.timezone, default_weeks=cfg.reports.forecast_history_weeks
        )
        forecasts = Forecasts(
            pool,
            settings.namespace,
            shrinkage=cfg.reports.shrinkage,
            service_level_target=cfg.reports.service_level_target,
        )
        report = await forecasts.forecast(fq)
    except OmnirouteError as exc:
        print(f"omniroute forecast: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        await pool.close()
    if args.csv:
        out.write(forecast_csv(report))
    elif args.json:
        json.dump(report.model_dump(mode="json"), out, indent=2)
        out.write("\n")
    else:
        out.write(format_report(report) + "\n")
    return 0
