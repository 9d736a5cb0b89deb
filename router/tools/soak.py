"""``omniroute bench --soak-minutes M --rate R``: a long run at a steady arrival rate, watching memory.

Every ``--soak-interval`` seconds it samples the router's resident memory (the server process and its
Python children, the workers), Redis ``used_memory``, the length of the routing domain's event stream
(``XLEN``; the stream is trimmed to about ``STREAM_MAXLEN`` entries), the PostgreSQL database's size
and its main tables' row counts, with the arrivals posted, the lifecycles completed and ingest -> offer
latency in that window. :func:`judge` reads the samples: memory is *flat* when it grows by less than
``FLAT_GROWTH`` over the second half of the run (the first half is the warm-up: caches, pools and the
stream filling to its cap), the stream stays within its cap, and PostgreSQL grows *as expected* when it
writes as many rows per completed lifecycle in the second half as in the first (it is the record: it
should grow with the work, linearly, and by nothing else).

Redis and PostgreSQL figures are the whole instance's and database's: run the soak on its own database
(and, for the Redis figure, its own Redis) to read them as the router's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]
import redis.asyncio as aioredis

from context_store.size import record_size
from router.routing.events import STREAM_MAXLEN
from router.routing.keys import Keys
from router.tools.simulate import percentile

FLAT_GROWTH = 0.10
"""Memory that grows by less than this share over the second half of the run is flat."""

ROWS_PER_LIFECYCLE_DRIFT = 0.25
"""PostgreSQL grows as expected when rows written per lifecycle in the second half are within this share
of the first half's."""

STREAM_SLACK = 0.02
"""The stream is trimmed approximately (``MAXLEN ~``): Redis removes whole nodes, so it may run a little
past the cap."""

# the record's tables that grow with the work (each exact-counted at every sample)
TABLES = (
    "customers",
    "identities",
    "interactions",
    "interaction_history",
    "messages",
    "routing_decisions",
    "agent_states",
    "journey_events",
)
"""the tables whose rows are counted (``context_store.size``: the ``record_size`` query)"""


@dataclass
class SoakSample:
    t: float
    """Seconds since the soak started."""
    rss_mib: float
    redis_used_mib: float
    stream_length: int
    db_mib: float
    rows: dict[str, int]
    posted: int
    completed: int
    errors: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    stream_mib: float | None = None
    """``MEMORY USAGE`` of the event stream: Redis grows with it until it reaches its cap."""

    @property
    def redis_net_mib(self) -> float:
        """Redis used memory without the event stream (which is judged by its length)."""
        return self.redis_used_mib - (self.stream_mib or 0.0)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass
class Verdict:
    name: str
    ok: bool
    detail: str
    figures: dict[str, float | None] = field(default_factory=dict)


def _growth(first: float, last: float) -> float:
    return math.inf if first <= 0 else (last - first) / first


def _at_half(samples: Sequence[SoakSample]) -> SoakSample:
    half = samples[-1].t / 2
    return next(s for s in samples if s.t >= half)


def judge(samples: Sequence[SoakSample], *, stream_cap: int = STREAM_MAXLEN) -> list[Verdict]:
    """The soak's verdicts from its samples (at least three: start, middle, end)."""
    if len(samples) < 3:
        raise ValueError("a soak needs at least three samples to be judged")
    mid, last = _at_half(samples), samples[-1]
    out: list[Verdict] = []
    net = all(s.stream_mib is not None for s in (mid, last))
    redis_attr = "redis_net_mib" if net else "redis_used_mib"
    redis_name = "Redis used_memory without the stream" if net else "Redis used_memory"
    for name, attr in (("router RSS", "rss_mib"), (redis_name, redis_attr)):
        a, b = float(getattr(mid, attr)), float(getattr(last, attr))
        g = _growth(a, b)
        out.append(
            Verdict(
                name,
                g < FLAT_GROWTH,
                f"{a:.1f} -> {b:.1f} MiB over the second half ({g:+.1%}; flat below +{FLAT_GROWTH:.0%})",
                {"mid_mib": round(a, 1), "end_mib": round(b, 1), "second_half_growth": round(g, 4)},
            )
        )
    longest = max(s.stream_length for s in samples)
    limit = stream_cap * (1 + STREAM_SLACK)
    out.append(
        Verdict(
            "event stream",
            longest <= limit,
            f"longest {longest} entries; cap {stream_cap} (MAXLEN ~)",
            {"max_length": longest, "cap": stream_cap},
        )
    )
    first = samples[0]

    def per_lifecycle(a: SoakSample, b: SoakSample) -> float | None:
        done = b.completed - a.completed
        return (b.total_rows - a.total_rows) / done if done > 0 else None

    r1, r2 = per_lifecycle(first, mid), per_lifecycle(mid, last)
    if r1 is None or r2 is None or r1 <= 0:
        ok, detail = False, "no lifecycles completed in one half: nothing to compare"
    else:
        drift = abs(r2 - r1) / r1
        ok = drift <= ROWS_PER_LIFECYCLE_DRIFT
        detail = (
            f"{r1:.2f} rows per lifecycle in the first half, {r2:.2f} in the second"
            f" ({drift:.0%} apart; linear within {ROWS_PER_LIFECYCLE_DRIFT:.0%})"
        )
    done = last.completed - first.completed
    out.append(
        Verdict(
            "PostgreSQL growth",
            ok,
            detail,
            {
                "rows_per_lifecycle_first_half": None if r1 is None else round(r1, 3),
                "rows_per_lifecycle_second_half": None if r2 is None else round(r2, 3),
                "kib_per_lifecycle": round((last.db_mib - first.db_mib) * 1024 / done, 3) if done else None,
            },
        )
    )
    return out


class Probes:
    """Reads the figures of one sample from the server process, Redis and PostgreSQL."""

    def __init__(self, pid: int | None, redis_url: str, database_url: str, namespace: str) -> None:
        self.proc = psutil.Process(pid) if pid else None
        self.redis = aioredis.from_url(redis_url, decode_responses=True)
        self.database_url = database_url
        self.stream = Keys.for_namespace(namespace).events
        self._con: Any = None

    async def __aenter__(self) -> Probes:
        import asyncpg  # type: ignore[import-untyped,unused-ignore]

        self._con = await asyncpg.connect(self.database_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._con is not None:
            await self._con.close()
        await self.redis.aclose()

    def rss_mib(self) -> float:
        """The server process and its Python children (the workers of ``--workers N``)."""
        if self.proc is None:
            return math.nan
        total = 0
        procs = [self.proc]
        with contextlib.suppress(psutil.Error):
            procs += [p for p in self.proc.children(recursive=True) if p.name().startswith("python")]
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total / 2**20

    async def read(self) -> tuple[float, float, int, float, dict[str, int], float | None]:
        info = await self.redis.info("memory")
        xlen = int(await self.redis.xlen(self.stream))
        stream_bytes = await self.redis.memory_usage(self.stream, samples=0)
        db_bytes, rows = await record_size(self._con)
        stream = None if stream_bytes is None else int(stream_bytes) / 2**20
        return self.rss_mib(), int(info["used_memory"]) / 2**20, xlen, db_bytes / 2**20, rows, stream


Counts = Callable[[], tuple[int, int, int, list[float]]]
"""posted, completed, errors and the ingest -> offer latencies so far (ms), from the load."""


async def sample_every(
    probes: Probes,
    counts: Counts,
    interval: float,
    until: float,
    on_sample: Callable[[SoakSample], Awaitable[None] | None] | None = None,
) -> list[SoakSample]:
    """A sample now, then one every ``interval`` seconds until ``until`` (``loop.time()``), then a last."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    samples: list[SoakSample] = []
    seen = 0
    while True:
        rss, used, xlen, db, rows, stream = await probes.read()
        posted, completed, errors, lat = counts()
        window = lat[seen:]
        seen = len(lat)

        def pct(q: float, xs: list[float] = window) -> float | None:
            v = percentile(xs, q)
            return None if math.isnan(v) else round(v, 2)

        s = SoakSample(
            round(loop.time() - start, 1),
            round(rss, 1),
            round(used, 2),
            xlen,
            round(db, 2),
            rows,
            posted,
            completed,
            errors,
            pct(0.5),
            pct(0.99),
            None if stream is None else round(stream, 2),
        )
        samples.append(s)
        if on_sample is not None:
            res = on_sample(s)
            if res is not None:
                await res
        now = loop.time()
        if now >= until:
            return samples
        await asyncio.sleep(min(interval, until - now))


def as_dict(samples: Sequence[SoakSample], verdicts: Sequence[Verdict], **meta: Any) -> dict[str, Any]:
    return {
        **meta,
        "flat": all(v.ok for v in verdicts),
        "verdicts": [asdict(v) for v in verdicts],
        "samples": [asdict(s) for s in samples],
    }


def format_soak(d: dict[str, Any]) -> str:
    lines = [
        f"soak: {d['minutes']:g} min at {d['rate']:g} arrivals/s, a sample every {d['interval']:g} s"
        f" ({d['agents']} agents, handle {d['handle_ms']:g} ms)",
        f"  {'t s':>6} {'posted':>7} {'done':>7} {'err':>4} {'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8}"
        f" {'Redis MiB':>9} {'stream':>7} {'XLEN':>7} {'DB MiB':>7} {'rows':>8}",
    ]
    for s in d["samples"]:
        rows = sum(s["rows"].values())
        lines.append(
            f"  {s['t']:>6.0f} {s['posted']:>7} {s['completed']:>7} {s['errors']:>4} {s['p50_ms']!s:>7}"
            f" {s['p99_ms']!s:>7} {s['rss_mib']:>8.1f} {s['redis_used_mib']:>9.1f}"
            f" {s.get('stream_mib')!s:>7} {s['stream_length']:>7}"
            f" {s['db_mib']:>7.1f} {rows:>8}"
        )
    for v in d["verdicts"]:
        lines.append(f"  {'ok  ' if v['ok'] else 'FAIL'} {v['name']}: {v['detail']}")
    lines.append(f"  verdict: {'flat' if d['flat'] else 'NOT flat'}")
    return "\n".join(lines)
