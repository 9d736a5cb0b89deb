"""The socket outbox against real websockets on loopback: order, the opening frame first, bounded memory,
4008 for a client that does not read, and a closing handshake that is abandoned when never read."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from router.metrics import Metrics
from router.realtime.outbox import ABANDONED_METRIC, SLOW_METRIC, TOO_SLOW, Outbox

Script = Callable[[Outbox], Awaitable[None]]


@dataclass
class Box:
    """A server whose one socket handler runs ``script`` against the socket's outbox."""

    url: str
    metrics: Metrics
    outboxes: list[Outbox] = field(default_factory=list)
    handlers_done: asyncio.Event = field(default_factory=asyncio.Event)
    peak_bytes: int = 0


@pytest.fixture
async def box() -> AsyncIterator[Callable[..., Awaitable[Box]]]:
    runners: list[web.AppRunner] = []

    async def start(script: Script, **bounds: float) -> Box:
        metrics = Metrics()
        holder: list[Box] = []

        async def handler(request: web.Request) -> web.StreamResponse:
            ws = web.WebSocketResponse(compress=False, timeout=float(bounds.get("close_seconds", 3.0)))
            await ws.prepare(request)
            outbox = Outbox(ws, request.transport, metrics, "test", **bounds)  # type: ignore[arg-type]
            holder[0].outboxes.append(outbox)
            pusher = asyncio.create_task(script(outbox))
            try:
                async for _ in ws:
                    pass
            finally:
                pusher.cancel()
                await outbox.wait_closed()
                holder[0].handlers_done.set()
            return ws

        app = web.Application()
        app.router.add_get("/", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        holder.append(Box(f"http://127.0.0.1:{port}/", metrics))
        return holder[0]

    yield start
    for r in runners:
        await r.cleanup()


def counter(metrics: Metrics, name: str) -> int:
    return int(metrics.total(name))


async def test_frames_go_out_in_order_and_the_opening_frame_first(box: Callable[..., Awaitable[Box]]) -> None:
    async def script(outbox: Outbox) -> None:
        for i in range(50):
            outbox.put(f"queued {i}")  # held: these wait for the opening frame
        await asyncio.sleep(0.05)
        outbox.first("hello")
        for i in range(50, 100):
            outbox.put(f"queued {i}")

    b = await box(script, held=True)
    async with aiohttp.ClientSession() as s, s.ws_connect(b.url) as ws:
        got = [(await ws.receive_str(timeout=10)) for _ in range(101)]
    assert got == ["hello"] + [f"queued {i}" for i in range(100)]


async def test_close_sends_what_was_queued_then_the_last_frame_then_the_code(
    box: Callable[..., Awaitable[Box]],
) -> None:
    async def script(outbox: Outbox) -> None:
        outbox.put("one")
        outbox.put("two")
        outbox.close(4001, "session replaced", last="bye")
        outbox.put("never")

    b = await box(script)
    async with aiohttp.ClientSession() as s, s.ws_connect(b.url) as ws:
        got = []
        async for msg in ws:
            got.append(msg.data)
        assert got == ["one", "two", "bye"]
        assert ws.close_code == 4001


async def test_a_held_outbox_closed_before_its_opening_frame_sends_only_the_last_frame(
    box: Callable[..., Awaitable[Box]],
) -> None:
    async def script(outbox: Outbox) -> None:
        outbox.put("an offer meant to follow hello")
        outbox.close(4001, "session replaced", last="replaced")

    b = await box(script, held=True)
    async with aiohttp.ClientSession() as s, s.ws_connect(b.url) as ws:
        got = [msg.data async for msg in ws]
        assert got == ["replaced"]
        assert ws.close_code == 4001


async def _raw_upgrade(url: str, rcvbuf: int = 4096) -> socket.socket:
    """A websocket client that completes the upgrade and then never reads (a laptop gone to sleep)."""
    port = int(url.rsplit(":", 1)[1].strip("/"))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    return sock


@pytest.mark.parametrize("verdict", ["queue bound", "stalled send"])
async def test_a_client_that_never_reads_is_closed_as_too_slow_and_then_cut_off(
    box: Callable[..., Awaitable[Box]], verdict: str
) -> None:
    frame = "x" * 16_000
    pushed = 0

    async def script(outbox: Outbox) -> None:
        nonlocal pushed
        while not outbox.closing:
            outbox.put(frame)
            pushed += 1
            b.peak_bytes = max(b.peak_bytes, outbox.queued_bytes)
            await asyncio.sleep(0 if verdict == "queue bound" else 0.005)

    # either the queue outgrows its bound first, or (with a bound too large to reach) one send waits
    # longer than the stall limit
    bound = 1 << 20 if verdict == "queue bound" else 1 << 30
    b = await box(script, max_bytes=bound, stall_seconds=1.0, close_seconds=0.5)
    sock = await _raw_upgrade(b.url)
    started = time.monotonic()
    try:
        await asyncio.wait_for(b.handlers_done.wait(), 30)
    finally:
        sock.close()
    took = time.monotonic() - started
    print(f"\n{verdict}: pushed {pushed} frames, peak queued {b.peak_bytes} B, cut off in {took:.2f} s")
    assert counter(b.metrics, SLOW_METRIC) == 1
    assert counter(b.metrics, ABANDONED_METRIC) == 1, "the close the client never read was cut off"
    assert b.peak_bytes <= min(bound, 64 << 20) + len(frame), "the queue stayed within its bound"
    if verdict == "stalled send":
        assert took >= 1.0, "judged on the stall limit, not on the bound"


async def test_a_client_that_stops_reading_gets_4008_when_it_reads_again(
    box: Callable[..., Awaitable[Box]],
) -> None:
    frame = "y" * 16_000

    async def script(outbox: Outbox) -> None:
        while not outbox.closing:
            outbox.put(frame)
            await asyncio.sleep(0)

    b = await box(script, max_bytes=1 << 20, stall_seconds=1.0, close_seconds=5.0)
    async with aiohttp.ClientSession() as s, s.ws_connect(b.url, max_msg_size=0) as ws:
        deadline = time.monotonic() + 30
        while counter(b.metrics, SLOW_METRIC) == 0:  # not reading meanwhile
            assert time.monotonic() < deadline, "never judged too slow"
            await asyncio.sleep(0.05)
        received = 0
        async for _ in ws:
            received += 1
        print(f"\nread {received} frames after the verdict; close code {ws.close_code}")
        assert ws.close_code == TOO_SLOW
    await asyncio.wait_for(b.handlers_done.wait(), 15)
    assert counter(b.metrics, ABANDONED_METRIC) == 0
