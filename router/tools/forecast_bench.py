"""``omniroute bench-forecast``: how long ``GET /v1/reports/forecast`` takes over a year of one queue.

    omniroute bench-forecast --database-url postgresql://…/empty_db --redis-url redis://…/9

It writes a synthetic history of one queue into an empty database: ``--weeks`` whole weeks ending at
today's local midnight, Poisson arrivals per local half hour whose rate follows the weekday and the hour
(busy weekday late mornings and early afternoons, quiet nights, a slow weekend; ``--scale`` multiplies
it), each contact answered and handled for 4 to 6 minutes. It then starts a real router on it and times
the forecast over the whole history for each interval length through HTTP (the wall time of the
request seen by the client: the indexed read of the arrivals, the two model fits of the backtest and the
forecast, the staffing of every interval, JSON), after one warm-up request, and prints the backtest.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import aiohttp

from context_store import synthetic
from context_store.db import create_pool, migrate
from router.app import Server
from router.config import Settings, parse_config

QUEUE = "support"
NAMESPACE = "bench-forecast"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", required=True, help="an empty database to load")
    parser.add_argument("--redis-url", required=True, help="a Redis for the router")
    parser.add_argument("--weeks", type=int, default=52, help="weeks of history (default a year)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the arrival rate")
    parser.add_argument("--tz", default="America/Los_Angeles", help="the center's time zone")
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per interval length")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures here")


async def _time(url: str, token: str, weeks: int, repeat: int) -> list[dict[str, Any]]:
    results = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        for interval in ("60", "30", "15"):
            query = f"queue={QUEUE}&interval={interval}&horizon_days=7&history_weeks={weeks}"
            times, body = [], {}
            for i in range(repeat + 1):
                began = time.perf_counter()
                async with session.get(f"{url}/v1/reports/forecast?{query}", headers=headers) as resp:
                    raw = await resp.read()
                    if resp.status != 200:
                        raise SystemExit(f"omniroute bench-forecast: HTTP {resp.status}: {raw[:300]!r}")
                if i:  # the first request warms the caches and imports statsmodels
                    times.append(time.perf_counter() - began)
                body = json.loads(raw)
            back = body["backtest"]
            results.append(
                {
                    "interval_minutes": int(interval),
                    "points": body["history_weeks"] * 7 * 1440 // int(interval),
                    "model": body["model"],
                    "median_s": round(statistics.median(times), 2),
                    "min_s": round(min(times), 2),
                    "max_s": round(max(times), 2),
                    "wape": back["wape"],
                    "seasonal_naive_wape": back["seasonal_naive_wape"],
                }
            )
    return results


def format_table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'interval':>8}  {'points':>6}  {'median s':>8}  {'min s':>6}  {'max s':>6}  {'WAPE':>6}"
        f"  {'naive':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['interval_minutes']:>6} m  {r['points']:>6}  {r['median_s']:>8.2f}  {r['min_s']:>6.2f}  "
            f"{r['max_s']:>6.2f}  {r['wape']:>6.1%}  {r['seasonal_naive_wape']:>6.1%}"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.weeks < 3 or args.repeat < 1 or args.scale <= 0:
        print("omniroute bench-forecast: --weeks ≥ 3, --repeat ≥ 1, --scale > 0", file=sys.stderr)
        return 2
    today = datetime.now(ZoneInfo(args.tz)).date()
    contacts = synthetic.weekly_contacts(args.tz, weeks=args.weeks, end_day=today, scale=args.scale, seed=11)
    pool = await create_pool(args.database_url, min_size=1, max_size=2)
    try:
        await migrate(pool)
        async with pool.acquire() as conn:
            if await synthetic.interaction_count(conn) > 0:
                print(
                    "omniroute bench-forecast: the database holds interactions: use an empty one",
                    file=sys.stderr,
                )
                return 2
            started = time.perf_counter()
            async with conn.transaction():
                await synthetic.load_queue_contacts(conn, NAMESPACE, QUEUE, "voice", contacts)
            await synthetic.analyze(conn)
            load_seconds = time.perf_counter() - started
    finally:
        await pool.close()
    print(f"loaded {len(contacts):,} contacts over {args.weeks} weeks in {load_seconds:.1f} s", file=out)
    admin = secrets.token_urlsafe(24)
    config = (
        f'[server]\ntimezone = "{args.tz}"\n\n[routing]\nnamespace = "{NAMESPACE}"\n\n'
        f'[[queues]]\nid = "{QUEUE}"\nchannels = ["voice"]\nservice_level_seconds = 20\n'
    )
    with tempfile.TemporaryDirectory(prefix="omniroute-bench-forecast-") as workdir:
        settings = Settings(
            file=parse_config(config, source="bench-forecast"),
            database_url=args.database_url,
            redis_url=args.redis_url,
            admin_token=admin,
            data_dir=Path(workdir),
        )
        server = Server(settings)
        url = await server.start()
        try:
            results = await _time(url, admin, args.weeks, args.repeat)
        finally:
            await server.stop()
    print(
        f"GET /v1/reports/forecast over {args.weeks} weeks of one queue ({len(contacts):,} contacts),"
        f" 7 days ahead, {args.repeat} timed requests each:",
        file=out,
    )
    print(format_table(results), file=out)
    if args.json_path:
        report = {"weeks": args.weeks, "contacts": len(contacts), "tz": args.tz, "results": results}
        Path(args.json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
