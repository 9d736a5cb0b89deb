"""``omniroute serve --workers N``: several router processes on one port.

The parent binds the listening socket once and starts N workers (``python -m router serve --listen-fd``)
that inherit it; the kernel hands each new connection to one of them. A shared socket rather than
``SO_REUSEPORT`` on a socket per worker: connections waiting in a dead worker's own accept queue would be
reset with it, while in the shared queue the other workers take them; it also works with port 0.

No duty needs a leader: every background duty of a router (timers, repair, presence, webhook delivery,
the deployment gauges' lease, campaign claims) is already safe with several processes on one Redis and
PostgreSQL, as it is for routers on several hosts. Migrations run under an advisory lock, so workers
starting together apply them once.

The parent restarts a worker that dies, with a backoff when one keeps dying at start (a worker killed
with ``kill -9`` loses nothing: its desktops reconnect to the other workers within their grace time and
its work is in the two stores), and on SIGTERM or SIGINT stops them all: each closes its sockets with
GOING_AWAY and finishes its requests; one that has not exited after ``stop_seconds`` is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Sequence

import structlog

log = structlog.get_logger("router.workers")

RESTART_MIN_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
STABLE_SECONDS = 10.0
"""a worker that ran this long before it died is restarted at once (a crash, not a start-up failure)"""


def worker_count(value: str) -> int:
    """``--workers``: a positive number, or ``auto`` for one per core."""
    if value == "auto":
        return max(1, os.cpu_count() or 1)
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a number of workers (1 or more) or 'auto', got {value!r}")
    return n


def listen(host: str, port: int) -> socket.socket:
    """The one listening socket all workers share (raises OSError, e.g. EADDRINUSE)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=1024)
    sock.set_inheritable(True)
    return sock


class Workers:
    """Keep ``count`` worker processes running on the shared socket until ``stop`` is set."""

    def __init__(
        self,
        count: int,
        sock: socket.socket,
        argv: Sequence[str],
        env: dict[str, str],
        stop_seconds: float = 30.0,
    ) -> None:
        self.count = count
        self.sock = sock
        self.argv = list(argv)
        self.env = env
        self.stop_seconds = stop_seconds
        self.procs: dict[int, asyncio.subprocess.Process] = {}
        self.restarts = 0

    async def run(self, stop: asyncio.Event) -> int:
        slots = [asyncio.create_task(self._slot(i, stop), name=f"worker-{i}") for i in range(self.count)]
        try:
            await stop.wait()
        finally:
            await self._stop_all()
            for task in slots:
                task.cancel()
            await asyncio.gather(*slots, return_exceptions=True)
        return 0

    async def _slot(self, index: int, stop: asyncio.Event) -> None:
        delay = RESTART_MIN_SECONDS
        while not stop.is_set():
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                *self.argv, pass_fds=(self.sock.fileno(),), env=self.env
            )
            self.procs[index] = proc
            log.info("worker.started", worker=index, pid=proc.pid)
            code = await proc.wait()
            if stop.is_set():
                return
            self.restarts += 1
            if time.monotonic() - started >= STABLE_SECONDS:
                delay = RESTART_MIN_SECONDS
            log.warning("worker.exited", worker=index, pid=proc.pid, code=code, restart_in=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, RESTART_MAX_SECONDS)

    async def _stop_all(self) -> None:
        running = [p for p in self.procs.values() if p.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        if not running:
            return
        _, pending = await asyncio.wait(
            [asyncio.ensure_future(p.wait()) for p in running], timeout=self.stop_seconds
        )
        for proc in running:
            if proc.returncode is None:
                log.warning("worker.killed", pid=proc.pid, after_seconds=self.stop_seconds)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        log.info("workers.stopped", workers=len(running))
