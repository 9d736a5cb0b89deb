"""Python's cyclic garbage collector, kept from stalling a process that holds many sockets.

CPython's full (generation 2) collection walks every object the collector tracks, and the event loop
stands still meanwhile. A worker holding 10,000 agent sockets tracks about 1.2 million objects, and while
sockets and supervisors connect the heap grows by a quarter again and again, each time setting off one
more full collection: measured during ``omniroute bench --workers 2 --sockets 20000 --supervisors 100``,
full collections of 0.3 to 1.2 s, every few seconds, each finding almost nothing to free. They were the
tail of the supervisors' queue updates (p99 about 1 s).

What is done about it (the standard library's own tools, nothing hand-written about memory itself):

* once the server has started, and after every full collection, the objects that survived are frozen
  (``gc.freeze``): the next full collections walk only what was made since, so a pause grows with what
  changed, not with the number of sockets;
* every ``FULL_EVERY_SECONDS`` everything is thawed and collected once, so cycles among long-lived
  objects that died meanwhile (a closed socket's transport and protocol refer to each other) are freed
  within that time, not never. That one pass is the long pause, at a known pace;
* every pause is measured: ``omniroute_gc_pause_seconds`` (docs/metrics.md), and a pause over
  ``SLOW_SECONDS`` is logged with the generation and the objects tracked.

Only ``omniroute serve`` (each worker) installs it; a library user's process keeps Python's defaults.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import time
from typing import Any

import structlog

from router.metrics import Metrics

log = structlog.get_logger("router.collector")

FULL_EVERY_SECONDS = 600.0
"""How often everything is thawed and collected once (the cycles among frozen objects are freed then)."""
SLOW_SECONDS = 0.1
"""A pause at least this long is logged."""
FULL_AFTER = 2
"""A full collection may follow every this many generation-1 collections (Python's default is 10). With
the survivors frozen, a full collection walks what was made since the last one, so running it more often
makes each pause shorter for the same total work."""


class Collector:
    """Freezes what survives each full collection, thaws and collects everything every
    ``full_every`` seconds, and measures every pause (see the module's docstring)."""

    def __init__(self, metrics: Metrics, full_every: float = FULL_EVERY_SECONDS) -> None:
        self.metrics = metrics
        self.full_every = full_every
        self._began = 0.0
        self._task: asyncio.Task[None] | None = None
        self._thresholds = gc.get_threshold()
        self.full_passes = 0
        """Scheduled passes over everything so far (thaw, collect, freeze)."""

    def start(self) -> None:
        gc.freeze()  # what start-up made (modules, configuration, the directory) lives as long as we do
        self._thresholds = gc.get_threshold()
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, FULL_AFTER)
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._full_passes())

    async def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
            gc.set_threshold(*self._thresholds)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        gc.unfreeze()

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        paused = time.perf_counter() - self._began
        self.metrics.observe("gc_pause", paused)
        generation = info.get("generation")
        if paused >= SLOW_SECONDS:
            # in a context of its own: not the bound fields (an agent id) of whatever code allocated
            contextvars.Context().run(
                log.warning,
                "gc.slow_pause",
                generation=generation,
                seconds=round(paused, 3),
                collected=info.get("collected"),
                frozen=gc.get_freeze_count(),
            )
        if generation == 2:
            # survivors of a full collection are the long-lived: the next ones need not walk them again
            gc.freeze()

    def full_pass(self) -> None:
        """Thaw, collect everything once, freeze the survivors (what the periodic pass does)."""
        gc.unfreeze()
        gc.collect()  # the callback measures it and freezes the survivors
        self.full_passes += 1

    async def _full_passes(self) -> None:
        while True:
            await asyncio.sleep(self.full_every)
            self.full_pass()
