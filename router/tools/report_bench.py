"""``omniroute bench-reports``: how fast ``GET /v1/reports/kpis`` answers over a large history.

    omniroute bench-reports                      # a year, 1,000,000 interactions, embedded servers
    omniroute bench-reports --interactions 200000 --database-url postgresql://…/empty_db

It loads a synthetic year of contacts (``context_store.synthetic``: uniform arrivals, 6 % abandoned,
4 % transferred, survey answers for a tenth of the rest) into a throwaway database (an embedded
PostgreSQL under a temporary directory, or an empty database you name), starts a real router on it and
times the report for the last month of the history in several shapes, through HTTP, as a supervisor
dashboard would ask for it. Every figure is the wall time of the whole request (query, KPI formulas,
JSON) seen by the client, after one warm-up request.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from context_store import synthetic
from context_store.db import create_pool, migrate
from router.app import Server
from router.config import Settings, parse_config
from router.contracts import Channel
from router.embedded import EmbeddedPostgres, EmbeddedRedis

QUEUES = ("billing", "support", "sales", "tech", "retention")
CHANNELS = tuple(ch.value for ch in Channel)
SHAPES: tuple[tuple[str, str], ...] = (
    ("none", "1d"),
    ("none", "1h"),
    ("queue", "1h"),
    ("channel", "1d"),
    ("queue", "15m"),
    ("agent", "1d"),
    ("agent", "1h"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interactions", type=int, default=1_000_000, help="contacts in the history")
    parser.add_argument("--days", type=int, default=365, help="days the history spans")
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--tz", default="America/Los_Angeles", help="the reports' time zone")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per shape")
    parser.add_argument(
        "--database-url",
        default=None,
        help="an empty database to load (default: an embedded PostgreSQL in a temporary directory)",
    )
    parser.add_argument("--redis-url", default=None, help="a Redis for the router (default: an embedded one)")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures here")
    parser.add_argument(
        "--loaded",
        action="store_true",
        help="time the history already in --database-url (loaded by an earlier run with the same"
        " --days), without loading another",
    )


@asynccontextmanager
async def _backends(args: argparse.Namespace, workdir: Path) -> AsyncIterator[tuple[str, str]]:
    pg = EmbeddedPostgres(workdir / "pg") if args.database_url is None else None
    rd = EmbeddedRedis(workdir / "redis") if args.redis_url is None else None
    try:
        database_url = pg.start() if pg is not None else args.database_url
        redis_url = rd.start() if rd is not None else args.redis_url
        yield database_url, redis_url
    finally:
        if rd is not None:
            rd.stop()
        if pg is not None:
            pg.stop()


def _config(namespace: str) -> str:
    queues = "\n".join(
        f'[[queues]]\nid = "{q}"\nchannels = {json.dumps(list(CHANNELS))}\nservice_level_seconds = 30\n'
        for q in QUEUES
    )
    return f'[routing]\nnamespace = "{namespace}"\n\n{queues}'


async def _load(
    database_url: str, history: synthetic.SyntheticHistory, out: TextIO, *, loaded: bool
) -> float:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        await migrate(pool)
        async with pool.acquire() as conn:
            if loaded:
                count = await synthetic.interaction_count(conn)
                print(f"timing the {count:,} interactions already loaded", file=out)
                return 0.0
            if await synthetic.interaction_count(conn) > 0:
                raise SystemExit("omniroute bench-reports: the database holds interactions: use an empty one")
            print(f"loading {history.interactions:,} interactions over {history.days} days…", file=out)
            started = time.perf_counter()
            await synthetic.load(
                conn, history, progress=lambda n: print(f"  {n:,} interactions written", file=out, flush=True)
            )
            return time.perf_counter() - started
    finally:
        await pool.close()


async def _time_shapes(
    url: str, token: str, month: tuple[datetime, datetime], tz: str, repeat: int
) -> list[dict[str, Any]]:
    start, end = (d.strftime("%Y-%m-%d") for d in month)
    results = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
        for group_by, interval in SHAPES:
            query = f"from={start}&to={end}&interval={interval}&group_by={group_by}&tz={tz}"
            times, rows, size = [], 0, 0
            for i in range(repeat + 1):
                began = time.perf_counter()
                async with session.get(f"{url}/v1/reports/kpis?{query}", headers=headers) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise SystemExit(f"omniroute bench-reports: HTTP {resp.status}: {body[:300]!r}")
                elapsed = time.perf_counter() - began
                if i:  # the first request warms the caches
                    times.append(elapsed * 1000)
                rows, size = len(json.loads(body)["rows"]), len(body)
            results.append(
                {
                    "group_by": group_by,
                    "interval": interval,
                    "rows": rows,
                    "bytes": size,
                    "median_ms": round(statistics.median(times), 1),
                    "min_ms": round(min(times), 1),
                    "max_ms": round(max(times), 1),
                }
            )
    return results


def format_table(results: list[dict[str, Any]]) -> str:
    head = f"{'group_by':>8}  {'interval':>8}  {'rows':>6}  {'median ms':>9}  {'min ms':>8}  {'max ms':>8}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['group_by']:>8}  {r['interval']:>8}  {r['rows']:>6}  {r['median_ms']:>9.1f}  "
            f"{r['min_ms']:>8.1f}  {r['max_ms']:>8.1f}"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.interactions < 1 or args.days < 31 or args.repeat < 1:
        print("omniroute bench-reports: --interactions ≥ 1, --days ≥ 31, --repeat ≥ 1", file=sys.stderr)
        return 2
    start = (datetime.now(UTC) - timedelta(days=args.days + 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    end = start + timedelta(days=args.days)
    month_end = end.replace(day=1)
    month = ((month_end - timedelta(days=1)).replace(day=1), month_end)  # the last whole month
    namespace = "bench-reports"  # fixed: a --loaded run finds the history of an earlier one
    history = synthetic.SyntheticHistory(
        interactions=args.interactions,
        start=start,
        days=args.days,
        customers=args.customers,
        queues=QUEUES,
        channels=CHANNELS,
        agents=args.agents,
        namespace=namespace,
    )
    admin = secrets.token_urlsafe(24)
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="omniroute-bench-reports-")))
        database_url, redis_url = await stack.enter_async_context(_backends(args, workdir))
        if args.loaded and args.database_url is None:
            print("omniroute bench-reports: --loaded needs --database-url", file=sys.stderr)
            return 2
        load_seconds = await _load(database_url, history, out, loaded=args.loaded)
        print(f"loaded in {load_seconds:.1f} s", file=out)
        settings = Settings(
            file=parse_config(_config(namespace), source="bench-reports"),
            database_url=database_url,
            redis_url=redis_url,
            admin_token=admin,
            data_dir=workdir,
        )
        server = Server(settings)
        url = await server.start()
        stack.push_async_callback(server.stop)
        results = await _time_shapes(url, admin, month, args.tz, args.repeat)
    month_label = f"{month[0]:%Y-%m-%d} to {month[1]:%Y-%m-%d} ({args.tz})"
    print(
        f"GET /v1/reports/kpis for {month_label} over {args.interactions:,} interactions"
        f" ({args.days} days), {args.repeat} timed requests each:",
        file=out,
    )
    print(format_table(results), file=out)
    if args.json_path:
        report = {
            "interactions": args.interactions,
            "days": args.days,
            "month": [month[0].isoformat(), month[1].isoformat()],
            "tz": args.tz,
            "load_seconds": round(load_seconds, 1),
            "cpus": os.cpu_count(),
            "results": results,
        }
        Path(args.json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
