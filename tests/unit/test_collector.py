"""router/collector.py: survivors of a full collection are frozen (later full collections do not walk
them), the periodic pass over everything frees cycles that died among them, and every pause is measured."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator

import pytest

from router.collector import FULL_AFTER, Collector
from router.metrics import Metrics


class Thing:
    other: Thing | None = None


def tracked(obj: object) -> bool:
    """Whether the collector's generations (not the frozen objects) hold ``obj``."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    python_default = gc.get_threshold()
    c = Collector(Metrics(), full_every=3600)
    c.start()
    assert gc.get_threshold() == (*python_default[:2], FULL_AFTER), "full collections more often"
    try:
        yield c
    finally:
        await c.stop()
        assert gc.get_threshold() == python_default, "stop puts Python's thresholds back"


async def test_survivors_of_a_full_collection_are_frozen_and_thawed_at_stop(collector: Collector) -> None:
    kept = Thing()
    assert tracked(kept), "made after the start: walked by the next collections"
    frozen_before = gc.get_freeze_count()
    gc.collect()
    assert not tracked(kept), "a survivor of the full collection is frozen"
    assert gc.get_freeze_count() > frozen_before
    young = Thing()
    gc.collect(1)
    assert tracked(young), "a younger collection freezes nothing"
    await collector.stop()
    assert gc.get_freeze_count() == 0 and tracked(kept), "stop thaws everything"


async def test_a_cycle_that_died_frozen_is_freed_by_the_pass_over_everything(collector: Collector) -> None:
    a, b = Thing(), Thing()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect()  # both survive (referenced here) and are frozen
    del a, b
    gc.collect()
    assert gone() is not None, "an ordinary full collection no longer walks the frozen cycle"
    collector.full_pass()
    assert gone() is None, "the pass over everything frees it"
    assert collector.full_passes == 1


async def test_every_pause_is_measured_and_the_pass_runs_on_its_own() -> None:
    metrics = Metrics()
    c = Collector(metrics, full_every=0.05)
    c.start()
    try:
        before = metrics.registry.get_sample_value("omniroute_gc_pause_seconds_count") or 0
        gc.collect(0)
        gc.collect()
        after = metrics.registry.get_sample_value("omniroute_gc_pause_seconds_count") or 0
        assert after >= before + 2
        for _ in range(100):
            if c.full_passes >= 2:
                break
            await asyncio.sleep(0.05)
        assert c.full_passes >= 2
    finally:
        await c.stop()
