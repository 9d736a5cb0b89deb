"""The machine's own limits, measured beside the router by ``omniroute bench`` (its ``baseline`` phase).

Through the client libraries and connections the router itself uses: a plain ``EVALSHA`` of a script as
large as the matching script, the engine's own routing scripts on a scratch namespace, durable
single-row ``INSERT`` s, and the CPU of one bare round trip to each backend. The PostgreSQL figures time a
scratch table of their own, on purpose outside the context store: they measure the server, not omniroute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from router.routing.engine import Engine, Step, load_script_source
from router.routing.pipe import pipe_for
from router.tools.simulate import percentile


def pcts_ms(xs: list[float]) -> dict[str, float | int | None]:
    def r(v: float) -> float | None:
        return None if math.isnan(v) else round(v, 3)

    return {
        "count": len(xs),
        "p50": r(percentile(xs, 0.5)),
        "p95": r(percentile(xs, 0.95)),
        "p99": r(percentile(xs, 0.99)),
        "max": r(max(xs)) if xs else None,
    }


async def _rate_of(
    op: Callable[[int], Awaitable[object]], concurrency: int, seconds: float
) -> tuple[float, list[float]]:
    """Run ``op`` back to back from ``concurrency`` workers; calls per second and latencies."""
    stop = time.monotonic() + seconds
    count = 0
    lat: list[float] = []

    async def worker(w: int) -> None:
        nonlocal count
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            await op(w)
            lat.append((time.perf_counter() - t0) * 1000)
            count += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return count / (time.monotonic() - t0), lat


STRATEGIES = ("longest_idle", "most_skilled", "least_occupied")


def matching_script_size() -> int:
    return len(load_script_source("match_agent").encode())


async def baseline_redis(url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    """Plain ``EVALSHA`` of a script padded to the matching script's size, and the engine's own."""
    size = matching_script_size()
    body = "redis.call('INCR', KEYS[1])\nreturn 1\n"
    pad = size - len(body)
    script_src = body + ("-" * 2 + " " + "x" * max(0, pad - 4) + "\n" if pad > 4 else "")
    client = aioredis.from_url(url, decode_responses=True)
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    out: dict[str, Any] = {"script_bytes": size, "concurrency": concurrency}
    # through the connection the engine's own scripts take (``pipe.py``), so the ratio compares scripts
    pipe = pipe_for(client)
    engine: Engine | None = None
    try:
        script = client.register_script(script_src)
        key = "{" + ns + "}:plain"
        await script(keys=[key])

        async def plain(_: int) -> object:
            if pipe is not None:
                return await pipe.evalsha(script.sha, script.script, [key], [])
            return await script(keys=[key])

        rate, lat = await _rate_of(plain, concurrency, seconds)
        out["plain_evalsha_per_second"] = round(rate, 1)
        out["plain_evalsha_ms"] = pcts_ms(lat)
        if pipe is not None:  # the figure as earlier versions measured it, for comparison

            async def plain_redis_py(_: int) -> object:
                return await script(keys=[key])

            rate, _lat = await _rate_of(plain_redis_py, concurrency, seconds)
            out["plain_evalsha_redis_py_per_second"] = round(rate, 1)

        engine = Engine(client, ns)
        await client.set(engine.keys.built, "bench")
        workers = []
        for w in range(concurrency):
            q, a = f"q{w}", f"a{w}"
            # the routing rules in use: a strategy per queue (each of the three in turn), minimum levels
            # and two widening steps, so the figure is the engine's with them, not a bare queue's
            await engine.set_queue(
                q,
                timeout_ms=60_000,
                wrapup_ms=0,
                agents=[a],
                strategy=STRATEGIES[w % len(STRATEGIES)],
                skills={"billing": 5, "voice": 3},
                steps=[Step(30_000, {"billing": 3}), Step(90_000, {})],
                cooldown_ms=30_000,
            )
            await engine.set_agent(
                a, capacity={"voice": 1}, voice_blocks=True, queues=[q], skills={"billing": 7, "voice": 4}
            )
            await engine.presence(a, "connect", f"s{w}", "bench", "available")
            await engine.presence(a, "state", f"s{w}", "bench", "available")
            workers.append((q, a))
        seq = 0

        async def cycle(w: int) -> object:
            nonlocal seq
            q, a = workers[w]
            seq += 1
            iid = f"i{seq}"
            ms = int(time.time() * 1000)
            res = await engine.enqueue(iid, q, "voice", 0, ms, ms)
            if res.offer_id is None:
                raise RuntimeError(f"engine baseline: no offer for {iid} ({res})")
            await engine.accept(a, res.offer_id)
            return await engine.complete(a, iid, 0)

        rate, lat = await _rate_of(cycle, concurrency, seconds)
        out["engine_cycles_per_second"] = round(rate, 1)
        out["engine_scripts_per_second"] = round(3 * rate, 1)
        out["engine_cycle_ms"] = pcts_ms(lat)
        out["engine_to_plain_ratio"] = round(3 * rate / out["plain_evalsha_per_second"], 3)
        out["note"] = (
            "engine cycle = enqueue (matches and offers) + accept + complete (frees and rematches):"
            " three scripts; queues with a strategy each (longest_idle, most_skilled, least_occupied in"
            " turn), minimum levels and two widening steps"
        )
    finally:
        if engine is not None:
            await engine.close()
        if pipe is not None:
            await pipe.close()
        cursor = 0
        while True:
            cursor, keys = await client.scan(cursor, match="{" + ns + "}*", count=1000)
            if keys:
                await client.delete(*keys)
            if cursor == 0:
                break
        await client.aclose()
    return out


async def baseline_postgres(dsn: str, seconds: float, concurrency: int) -> dict[str, Any]:
    """Durable single-row inserts (one transaction each, synchronous commit) through asyncpg."""
    import asyncpg  # type: ignore[import-untyped,unused-ignore]

    table = f"bench_insert_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    try:
        async with pool.acquire() as con:
            sync = await con.fetchval("SHOW synchronous_commit")
            fsync = await con.fetchval("SHOW fsync")
            await con.execute(
                f"CREATE TABLE {table} (id bigserial PRIMARY KEY, body jsonb NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            )
        payload = json.dumps({"channel": "voice", "from": "+15550000000", "queue": "bench"})

        async def insert(_: int) -> object:
            async with pool.acquire() as con:
                return await con.execute(f"INSERT INTO {table} (body) VALUES ($1::jsonb)", payload)

        rate, lat = await _rate_of(insert, concurrency, seconds)
        return {
            "durable_inserts_per_second": round(rate, 1),
            "insert_ms": pcts_ms(lat),
            "concurrency": concurrency,
            "synchronous_commit": sync,
            "fsync": fsync,
        }
    finally:
        async with pool.acquire() as con:
            await con.execute(f"DROP TABLE IF EXISTS {table}")
        await pool.close()


ROUND_TRIPS = 3000


async def baseline_round_trips(redis_url: str, dsn: str, count: int = ROUND_TRIPS) -> dict[str, Any]:
    """CPU time of this process per bare round trip, one at a time through the router's own client
    libraries: what every statement and command of a lifecycle costs before it does any work. On a
    virtual machine, where each send and each wake-up is a trap to the host, this is most of it."""
    import asyncpg  # type: ignore[import-untyped,unused-ignore]

    out: dict[str, Any] = {"count": count}
    client = aioredis.from_url(redis_url)
    pipe = pipe_for(client, connections=1)
    try:
        out["redis_py_ping_cpu_us"] = await _cpu_us_per_call(client.ping, count)
        # the router's scripts and stream reads go over the lean connection where there is one
        out["redis_ping_cpu_us"] = out["redis_py_ping_cpu_us"]
        if pipe is not None:
            out["redis_ping_cpu_us"] = await _cpu_us_per_call(lambda: pipe.execute("PING"), count)
    finally:
        if pipe is not None:
            await pipe.close()
        await client.aclose()
    con = await asyncpg.connect(dsn)
    try:
        out["postgres_select_cpu_us"] = await _cpu_us_per_call(lambda: con.fetchval("SELECT 1"), count)
    finally:
        await con.close()
    return out


async def _cpu_us_per_call(op: Callable[[], Awaitable[object]], count: int) -> float:
    """This process's CPU time per call of ``op``, the calls one after another (after one to warm up)."""
    await op()
    cpu0 = time.process_time()
    for _ in range(count):
        await op()
    return round((time.process_time() - cpu0) * 1e6 / count, 1)


async def baselines(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        out["redis"] = await baseline_redis(args.redis_url, args.baseline_seconds, args.concurrency)
    except (OSError, ImportError) as exc:
        out["redis"] = {"error": repr(exc)}
    except Exception as exc:  # a redis error: report it in the results rather than lose the run
        out["redis"] = {"error": repr(exc)}
    try:
        out["postgres"] = await baseline_postgres(args.database_url, args.baseline_seconds, args.concurrency)
    except Exception as exc:  # asyncpg has no common base for connection and server errors
        out["postgres"] = {"error": repr(exc)}
    try:
        out["round_trip"] = await baseline_round_trips(args.redis_url, args.database_url)
    except Exception as exc:  # either library's errors, reported rather than losing the run
        out["round_trip"] = {"error": repr(exc)}
    return out


def round_trip_floor_ms(results: dict[str, Any]) -> float | None:
    """The CPU a lifecycle's round trips cost at the bare rate: its PostgreSQL statements times a
    ``SELECT 1``, its Redis commands times a ``PING`` (None without both phases' figures)."""
    trip = results.get("baseline", {}).get("round_trip", {})
    work = results.get("latency", {}).get("per_lifecycle", {})
    if "redis_ping_cpu_us" not in trip or "pg_statements" not in work:
        return None
    us = (
        work["pg_statements"] * trip["postgres_select_cpu_us"]
        + work["redis_commands"] * trip["redis_ping_cpu_us"]
    )
    return round(float(us) / 1000, 3)
