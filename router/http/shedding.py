"""Load shedding: past its capacity a router process refuses new work at the door instead of queueing it
without bound.

Every request on a route that lets new work in (``SHED_ROUTES`` in the route table: ingest, customer and
journey events) counts as in flight from the moment its handler starts until its answer is ready. When
``[server] max_inflight`` of them are already in flight in this process, or more than
``[server] max_event_backlog`` events read from the stream wait to be handled here (the work an admitted
ingest causes after its answer: the offer's context read, the frames), or the event loop runs late by
more than ``[server] max_loop_lag_ms`` (when set), the request is answered at once with 503 problem+json
(``code: overloaded``) and ``Retry-After``, before its body is read or anything is written: a refused
event leaves no trace, and its retry is an ordinary first attempt (ingest is idempotent on the channel's
``external_id`` in any case). The adapters answer their provider 503 in turn, so the provider retries.

Routes that finish work (accept, complete, end, receipts) are never refused: they drain the backlog.

A refusal costs a header parse and a short answer, far less than the work it refuses, so throughput stays
at capacity and the latency of admitted work stays bounded by ``max_inflight`` times the time one takes.
``omniroute_requests_shed_total{reason}`` counts the refusals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from router.config import ServerSection
from router.http.api import problem
from router.http.routes import SHED_ROUTES
from router.metrics import METRICS, Metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LAG_PROBE_SECONDS = 0.05
"""How often the event loop's lateness is measured (only when ``max_loop_lag_ms`` is set)."""


class Admission:
    """The in-flight count and the loop's lateness of one process, and the decision to admit."""

    def __init__(self, cfg: ServerSection, metrics: Metrics) -> None:
        self.max_inflight = cfg.max_inflight
        self.max_backlog = cfg.max_event_backlog
        self.max_lag_ms = cfg.max_loop_lag_ms
        self.retry_after = str(cfg.overload_retry_after_seconds)
        self.metrics = metrics
        self.inflight = 0
        self.lag_ms = 0.0
        self.event_backlog: Callable[[], int] = lambda: 0
        """Events this process has read and not yet handled (set by the app to its event dispatcher's)."""

    def refusal(self) -> str | None:
        """Why a new request would be refused now (``inflight``, ``event_backlog``, ``loop_lag``), or None
        to admit it."""
        if self.max_inflight and self.inflight >= self.max_inflight:
            return "inflight"
        if self.max_backlog and self.event_backlog() > self.max_backlog:
            return "event_backlog"
        if self.max_lag_ms and self.lag_ms > self.max_lag_ms:
            return "loop_lag"
        return None

    def refused(self, reason: str) -> web.Response:
        self.metrics.inc("requests_shed_total", reason=reason)
        details = {
            "inflight": f"{self.max_inflight} requests that create work are in flight in this process",
            "event_backlog": f"more than {self.max_backlog} events wait to be handled in this process",
            "loop_lag": f"the event loop runs {self.lag_ms:.0f} ms late (limit {self.max_lag_ms:g} ms)",
        }
        detail = details[reason]
        title = "The router is at capacity; retry shortly"
        response = problem(503, title, detail + ": nothing was recorded", code="overloaded")
        response.headers["Retry-After"] = self.retry_after
        return response

    async def watch_loop(self) -> None:
        """Measure how late the event loop wakes a sleeper, every ``LAG_PROBE_SECONDS``."""
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            self.lag_ms = max(0.0, (loop.time() - t0 - LAG_PROBE_SECONDS) * 1000)


ADMISSION = web.AppKey("admission", Admission)


def install(app: web.Application, cfg: ServerSection) -> None:
    """The process's admission state, and the loop watcher while the app runs (when a lag limit is set)."""
    app[ADMISSION] = admission = Admission(cfg, app[METRICS])

    async def watcher(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(admission.watch_loop(), name="loop-lag") if admission.max_lag_ms else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(watcher)


@web.middleware
async def shed_load(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    if resource is None or (request.method, resource.canonical) not in SHED_ROUTES:
        return await handler(request)
    admission = request.config_dict[ADMISSION]
    reason = admission.refusal()
    if reason is not None:
        return admission.refused(reason)
    admission.inflight += 1
    try:
        return await handler(request)
    finally:
        admission.inflight -= 1
