"""A socket's outgoing frames: a bounded queue drained by a writer task of its own.

Whoever has something to say to a client (event dispatch, statistics, the answer to a frame) only
puts it in the queue; nothing but the socket's own writer ever waits on the client's network. A
client that falls behind is closed with 4008 ("too slow") and counted: when its queue holds more than
``max_bytes`` or ``max_frames``, or when one frame has waited ``stall_seconds`` for the client to read.
The frames it had not taken are dropped (it resumes from ``hello`` or a snapshot when it reconnects).
A close, whatever its reason, waits at most ``close_seconds`` for the client to answer the closing
handshake; then the connection is cut, so a client that never reads holds no memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Final

import structlog
from aiohttp import web

from router.metrics import Metrics

log = structlog.get_logger("router.realtime.outbox")

TOO_SLOW: Final = 4008
SESSION_REPLACED: Final = 4001
TRY_AGAIN_LATER: Final = 1013

MAX_BYTES = 8 << 20
"""Queued text per socket: a few dozen offers with large context records."""
MAX_FRAMES = 10_000
STALL_SECONDS = 5.0
CLOSE_SECONDS = 3.0

SLOW_METRIC = "sockets_closed_slow_total"
ABANDONED_METRIC = "socket_closes_abandoned_total"


class Outbox:
    """The outgoing frames of one websocket, in order, with their own writer task.

    Opened ``held``, frames wait until :meth:`first` puts the opening frame (``hello``) ahead of them,
    so nothing overtakes it."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        metrics: Metrics,
        kind: str,
        *,
        held: bool = False,
        max_bytes: int = MAX_BYTES,
        max_frames: int = MAX_FRAMES,
        stall_seconds: float = STALL_SECONDS,
        close_seconds: float = CLOSE_SECONDS,
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.metrics = metrics
        self.kind = kind
        self.max_bytes, self.max_frames = max_bytes, max_frames
        self.stall_seconds, self.close_seconds = stall_seconds, close_seconds
        self._queue: deque[tuple[float, str]] = deque()
        self._bytes = 0
        self._held = held
        self._closing: tuple[int, str] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._sending_since: float | None = None

    @property
    def closing(self) -> bool:
        """A close was asked for (or done): nothing more is queued."""
        return self._closing is not None or self.ws.closed

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def put(self, text: str) -> None:
        """Queue one frame; never waits. A client past the bounds is closed as too slow instead."""
        if self.closing:
            return
        now = time.monotonic()
        self._queue.append((now, text))
        self._bytes += len(text)
        if self._behind(now):
            self.too_slow()
            return
        self._kick()

    def first(self, text: str) -> None:
        """Put the opening frame ahead of everything queued while held, and start sending."""
        if self.closing:
            return
        self._queue.appendleft((time.monotonic(), text))
        self._bytes += len(text)
        self._held = False
        self._kick()

    def close(self, code: int, reason: str, last: str | None = None) -> None:
        """Close after the frames queued so far (and ``last``, e.g. an error frame saying why). An outbox
        still held drops what it held: the client never got the frame those were meant to follow."""
        if self.closing:
            return
        if self._held:
            self._drop()
            self._held = False
        if last is not None:
            self._queue.append((time.monotonic(), last))
            self._bytes += len(last)
        self._closing = (code, reason)
        self._kick()

    def too_slow(self) -> None:
        """Drop what the client has not taken and close it with 4008."""
        if self.closing:
            return
        self._mark_slow()
        if self._sending_since is not None:
            self._start_closer()  # the writer waits for the client to read: close beside it
        else:
            self._kick()

    async def wait_closed(self) -> None:
        """Let a close in progress finish (bounded by its own timeouts); stop an idle writer."""
        tasks = [t for t in (self._writer, self._closer) if t is not None and not t.done()]
        if not tasks:
            return
        if self._closing is None:
            for t in tasks:
                t.cancel()
        await asyncio.wait(tasks, timeout=self.stall_seconds + 2 * self.close_seconds)
        for t in tasks:
            t.cancel()

    # ------------------------------------------------------------ internals

    def _behind(self, now: float) -> bool:
        if len(self._queue) > 1 and (self._bytes > self.max_bytes or len(self._queue) > self.max_frames):
            return True
        if self._held:
            return False
        since = self._sending_since if self._sending_since is not None else self._queue[0][0]
        return now - since > self.stall_seconds

    def _drop(self) -> None:
        self._queue.clear()
        self._bytes = 0

    def _mark_slow(self) -> None:
        waited = time.monotonic() - self._queue[0][0] if self._queue else 0.0
        log.warning(
            "socket.too_slow",
            kind=self.kind,
            queued_bytes=self._bytes,
            queued_frames=len(self._queue),
            waited_seconds=round(waited, 3),
        )
        self.metrics.inc(SLOW_METRIC, kind=self.kind)
        self._drop()
        self._held = False
        self._closing = (TOO_SLOW, "too slow")

    def _stalled(self) -> None:
        """One frame has waited ``stall_seconds`` for the client to read."""
        if self._sending_since is None:
            return
        if self._closing is None:
            self._mark_slow()
        else:  # already closing (replaced, ...): stop waiting for a client that does not read
            self._drop()
        self._start_closer()

    def _kick(self) -> None:
        if self._held or (self._writer is not None and not self._writer.done()):
            return
        if not self._queue and self._closing is None:
            return
        self._writer = asyncio.create_task(self._write(), name=f"outbox-{self.kind}")

    def _start_closer(self) -> None:
        if self._closer is None and self._closing is not None:
            self._closer = asyncio.create_task(self._shutdown(*self._closing), name=f"close-{self.kind}")

    async def _write(self) -> None:
        """Send what is queued; exits when the queue is empty (started again by the next frame).

        A send is never cancelled: aiohttp's writers share one drain waiter, and cancelling a send that
        waits on it would break every later send and the close. A send that waits too long starts the
        close beside it instead (``_stalled``); cutting the connection then ends the wait."""
        ws = self.ws
        loop = asyncio.get_running_loop()
        try:
            while self._queue and not ws.closed:
                _, text = self._queue.popleft()
                self._bytes -= len(text)
                self._sending_since = time.monotonic()
                watchdog = loop.call_later(self.stall_seconds, self._stalled)
                try:
                    await ws.send_str(text)
                finally:
                    watchdog.cancel()
                    self._sending_since = None
        except (ConnectionError, RuntimeError):
            # the connection is gone; the socket's handler sees it end and cleans up
            self._drop()
            return
        if self._closing is not None:
            self._start_closer()

    async def _shutdown(self, code: int, reason: str) -> None:
        """Send the close frame (never waiting for the client to drain what it holds), give the client
        ``close_seconds`` to answer, then cut the connection if it is still there."""
        if not self.ws.closed:
            try:
                async with asyncio.timeout(self.close_seconds):
                    await self.ws.close(code=code, message=reason.encode(), drain=False)
            except (TimeoutError, ConnectionError, RuntimeError):
                pass
        transport = self.transport
        if transport is None or _gone(transport):
            return
        # the close frame waits behind data the client has not read
        deadline = time.monotonic() + self.close_seconds
        while time.monotonic() < deadline and not _gone(transport):
            await asyncio.sleep(0.05)
        if not _gone(transport):
            self.metrics.inc(ABANDONED_METRIC, kind=self.kind)
            log.warning("socket.close_abandoned", kind=self.kind, code=code)
            transport.abort()


def _gone(transport: asyncio.Transport) -> bool:
    """The connection is closed, or closing with nothing left to write."""
    return transport.is_closing() and transport.get_write_buffer_size() == 0
