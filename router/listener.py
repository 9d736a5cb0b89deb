"""The listening socket: a cap on open connections per client address, and a file-descriptor table that
runs out logged once per interval instead of once per refused accept.

aiohttp has no connection-level hook, so the cap wraps the protocol factory of its TCP site: a connection
over the cap is closed before aiohttp sees it; the others are handed to aiohttp's own protocol unchanged.
"""

from __future__ import annotations

import asyncio
import errno
import resource
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import web

from router.metrics import Metrics

log = structlog.get_logger("router.listener")


class ConnectionCap:
    """Counts open connections per client address and refuses those over ``limit`` (0: no cap)."""

    def __init__(self, limit: int, metrics: Metrics) -> None:
        self.limit = limit
        self.metrics = metrics
        self.open: Counter[str] = Counter()

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Capped(self, factory)


class _Capped(asyncio.Protocol):
    def __init__(self, cap: ConnectionCap, factory: Callable[[], asyncio.Protocol]) -> None:
        self.cap, self.factory = cap, factory
        self.inner: asyncio.Protocol | None = None
        self.address = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        if self.cap.limit and self.cap.open[address] >= self.cap.limit:
            self.cap.metrics.inc("connections_refused_total", reason="per_address_cap")
            transport.close()
            return
        self.address = address
        self.cap.open[address] += 1
        self.inner = self.factory()
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.inner is None:
            return
        self.cap.open[self.address] -= 1
        if self.cap.open[self.address] <= 0:
            del self.cap.open[self.address]
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


class CappedSite(web.TCPSite):
    """aiohttp's TCP site with the per-address cap in front of its protocol. With ``sock`` it serves a
    socket that is already listening (a worker of ``omniroute serve --workers``: the parent bound it once
    and every worker accepts from it) instead of binding ``host:port``."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        cap: ConnectionCap,
        sock: socket.socket | None = None,
    ) -> None:
        super().__init__(runner, host, port, reuse_address=True)
        self.cap = cap
        self.sock = sock

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        if self.sock is not None:
            self._server = await loop.create_server(
                self.cap.wrap(server), sock=self.sock, backlog=self._backlog
            )
        else:
            self._server = await loop.create_server(
                self.cap.wrap(server), self._host, self._port, backlog=self._backlog, reuse_address=True
            )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port

    @property
    def bound_port(self) -> int:
        return self.port


def raise_file_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit (a router holds a socket per desktop)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft, hard


EXHAUSTED = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class AcceptErrorLog:
    """An event-loop exception handler: a full descriptor table makes every accept fail, and asyncio would
    log a traceback each time; this logs one line per ``interval`` with how many it saw."""

    def __init__(self, metrics: Metrics, interval: float = 10.0) -> None:
        self.metrics = metrics
        self.interval = interval
        self._last = 0.0
        self._seen = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in (
            errno.EMFILE,
            errno.ENFILE,
            errno.ENOBUFS,
            errno.ENOMEM,
        ):
            self._seen += 1
            self.metrics.inc("accept_failed_total", reason=errno.errorcode.get(exc.errno or 0, "?"))
            now = time.monotonic()
            if now - self._last >= self.interval:
                log.error(
                    "server.accept_failed", error=str(exc), times=self._seen, every_seconds=self.interval
                )
                self._last, self._seen = now, 0
            return
        loop.default_exception_handler(context)
