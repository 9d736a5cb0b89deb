"""The soak mode of ``omniroute bench``: its judgement of samples, and a few seconds of real sampling."""

from __future__ import annotations

import argparse
import asyncio
import os

import pytest

from router.routing.events import STREAM_MAXLEN
from router.tools import bench, soak
from router.tools.soak import SoakSample, judge
from tests.support.servers import TestServer


def series(
    n: int = 7,
    *,
    rss: tuple[float, float] = (100.0, 104.0),
    redis: tuple[float, float] = (20.0, 21.0),
    stream: int = 50_000,
    rows_per_done: tuple[float, float] = (10.0, 10.0),
) -> list[SoakSample]:
    """Samples every 30 s; memory rises linearly from the first to the second figure; 100 lifecycles
    per sample, each writing ``rows_per_done`` rows in the first and the second half."""
    out: list[SoakSample] = []
    rows = 0.0
    for k in range(n):
        f = k / (n - 1)
        if k:
            rows += 100 * (rows_per_done[0] if k <= (n - 1) // 2 else rows_per_done[1])
        out.append(
            SoakSample(
                t=30.0 * k,
                rss_mib=rss[0] + f * (rss[1] - rss[0]),
                redis_used_mib=redis[0] + f * (redis[1] - redis[0]),
                stream_length=min(stream, 20_000 * (k + 1)),
                db_mib=10 + k,
                rows={"interactions": int(rows)},
                posted=100 * k,
                completed=100 * k,
                errors=0,
            )
        )
    return out


def verdicts(samples: list[SoakSample]) -> dict[str, bool]:
    return {v.name: v.ok for v in judge(samples)}


def test_steady_memory_and_linear_rows_are_flat() -> None:
    v = verdicts(series())
    assert v == {
        "router RSS": True,
        "Redis used_memory": True,
        "event stream": True,
        "PostgreSQL growth": True,
    }


def test_memory_growing_in_the_second_half_is_not_flat() -> None:
    # 100 -> 130 MiB over the run: 115 at half time, so +13 % over the second half
    v = verdicts(series(rss=(100.0, 130.0)))
    assert not v["router RSS"] and v["Redis used_memory"]
    v = verdicts(series(redis=(20.0, 30.0)))
    assert v["router RSS"] and not v["Redis used_memory"]


def test_redis_growing_with_the_stream_below_its_cap_is_judged_without_it() -> None:
    samples = series(redis=(10.0, 30.0))  # +50 % over the second half...
    for s in samples:
        s.stream_mib = s.redis_used_mib - 10.0  # ...all of it the stream filling towards its cap
    v = verdicts(samples)
    assert v["Redis used_memory without the stream"] and "Redis used_memory" not in v
    samples[-1].redis_used_mib += 5  # something else grows
    assert not verdicts(samples)["Redis used_memory without the stream"]


def test_growth_during_warm_up_only_is_flat() -> None:
    samples = series()
    samples[0].rss_mib = 60.0  # the first half fills caches and pools
    samples[1].rss_mib = 90.0
    assert verdicts(samples)["router RSS"]


def test_a_stream_past_its_cap_is_not_bounded() -> None:
    assert verdicts(series(stream=STREAM_MAXLEN))["event stream"]
    assert not verdicts(series(stream=STREAM_MAXLEN + STREAM_MAXLEN // 10))["event stream"]


def test_rows_per_lifecycle_drifting_is_not_linear_growth() -> None:
    assert not verdicts(series(rows_per_done=(10.0, 15.0)))["PostgreSQL growth"]
    assert verdicts(series(rows_per_done=(10.0, 11.0)))["PostgreSQL growth"]


def test_too_few_samples_cannot_be_judged() -> None:
    with pytest.raises(ValueError, match="three samples"):
        judge(series()[:2])


async def test_sampling_reads_the_process_redis_the_stream_and_postgresql(server: TestServer) -> None:
    for n in range(3):
        await server.ingest(
            channel="chat", queue="chat", **{"from": {"kind": "chat_visitor", "value": f"v-{n}"}}
        )
    stream_length = int(await server.redis.xlen(server.engine.keys.events))
    assert stream_length > 0
    services = server.settings
    assert services.redis_url and services.database_url
    posted = [0]

    def counts() -> tuple[int, int, int, list[float]]:
        posted[0] += 5
        return posted[0], posted[0] - 5, 0, [1.0, 2.0, 3.0] * posted[0]

    seen: list[SoakSample] = []
    stamps: list[float] = []
    loop = asyncio.get_running_loop()

    def on_sample(s: SoakSample) -> None:
        seen.append(s)
        stamps.append(loop.time())  # unrounded, unlike s.t

    interval = 0.3
    async with soak.Probes(
        os.getpid(), services.redis_url, services.database_url, server.engine.namespace
    ) as probes:
        until = loop.time() + 1.0
        samples = await soak.sample_every(probes, counts, interval, until, on_sample)
    assert seen == samples
    # What sample_every guarantees whatever the probes' speed: a sample at once and a last one at or after
    # ``until`` (so at least two), every one before ``until``, and between two samples a sleep of the
    # interval (the last sleep only up to ``until``). How many fit in the second depends on how long a
    # probe read takes (two when one takes ~0.35 s), so only the bounds are asserted: at most four
    # samples 0.3 s apart before ``until``, plus the last.
    assert 2 <= len(samples) <= 5
    assert all(t < until for t in stamps[:-1])
    # the last check of the clock comes right after the callback, with no await between: 50 ms is slack
    # for the process being descheduled there, far less than the interval a missing last sample would lose
    assert stamps[-1] >= until - 0.05
    for k in range(len(stamps) - 1):
        # 1 ms: the event loop may run a timer up to its clock resolution early (ns on Linux)
        assert stamps[k + 1] - stamps[k] >= min(interval, until - stamps[k]) - 0.001
    assert [s.posted for s in samples] == [5 * (k + 1) for k in range(len(samples))]
    first = samples[0]
    assert first.rss_mib > 10 and first.redis_used_mib > 0 and first.db_mib > 0
    assert first.stream_length >= stream_length
    assert first.stream_mib is not None and 0 < first.stream_mib < first.redis_used_mib
    assert first.rows["interactions"] >= 3 and set(first.rows) <= set(soak.TABLES)
    assert first.p50_ms == 2.0  # each window's own latencies
    # judge needs three samples (start, middle, end); a slow machine may have taken two
    judged = samples if len(samples) >= 3 else [samples[0], *samples]
    doc = soak.as_dict(judged, judge(judged), minutes=1 / 60, rate=1, interval=0.3, agents=1, handle_ms=1)
    text = soak.format_soak(doc)
    assert "verdict:" in text and "router RSS" in text
    assert isinstance(doc["flat"], bool)


def test_the_bench_takes_the_soak_options() -> None:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--soak-minutes", "30", "--rate", "50", "--soak-interval", "15"])
    assert (args.soak_minutes, args.rate, args.soak_interval) == (30.0, 50.0, 15.0)
