"""Connections that never complete a request are closed; refused socket upgrades close their connection;
one address can be capped; every response carries the security headers, and framework errors are
problem+json."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import aiohttp

from tests.support.configs import DEFAULT


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        while await asyncio.wait_for(reader.read(65536), seconds):
            pass
        return True
    except TimeoutError:
        return False


async def test_idle_and_half_sent_connections_are_closed(make_server) -> None:  # type: ignore[no-untyped-def]
    server = await make_server(DEFAULT.with_server(idle_timeout_seconds=1, max_connections_per_address=0))
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    conns = [await asyncio.open_connection(host, port) for _ in range(40)]
    for k, (_, writer) in enumerate(conns):
        if k % 2:  # headers begun, never finished
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await writer.drain()
    started = time.monotonic()
    closed = await asyncio.gather(*(_closed_within(r, 20) for r, _ in conns))
    print(f"idle connections closed: {sum(closed)}/{len(conns)} in {time.monotonic() - started:.1f} s")
    assert all(closed)
    for _, w in conns:
        w.close()
    # the server still answers
    status, _ = await server.request("GET", "/healthz")
    assert status == 200


async def test_a_refused_socket_upgrade_closes_its_connection(make_server) -> None:  # type: ignore[no-untyped-def]
    server = await make_server(DEFAULT.with_server(idle_timeout_seconds=1, max_connections_per_address=0))
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"GET /v1/supervisor/socket?token=nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 401")
    assert b"application/problem+json" in head
    assert await _closed_within(reader, 5), "the connection stayed open after the refused upgrade"
    writer.close()


async def test_one_address_can_be_capped(make_server) -> None:  # type: ignore[no-untyped-def]
    server = await make_server(DEFAULT.with_server(idle_timeout_seconds=1, max_connections_per_address=5))
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    held = [await asyncio.open_connection(host, port) for _ in range(5)]
    await asyncio.sleep(0.2)
    reader, writer = await asyncio.open_connection(host, port)
    assert await _closed_within(reader, 5), "the sixth connection was accepted"
    writer.close()
    for _, w in held:
        w.close()
        await w.wait_closed()
    await asyncio.sleep(0.3)
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as resp:
        assert resp.status == 200  # the count went down as connections closed


async def test_security_headers_and_problem_json_from_the_framework(make_server) -> None:  # type: ignore[no-untyped-def]
    server = await make_server()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/desktop/") as page:
            assert page.status == 200
            csp = page.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            assert page.headers["X-Content-Type-Options"] == "nosniff"
            assert page.headers["Referrer-Policy"] == "no-referrer"
        async with http.get(f"{server.url}/healthz") as api:
            assert api.headers["X-Content-Type-Options"] == "nosniff"
            assert "Content-Security-Policy" not in api.headers  # pages only
        async with http.get(f"{server.url}/static/common/nothing-here.js") as missing:
            assert missing.status == 404
            assert missing.content_type == "application/problem+json"
            assert (await missing.json())["status"] == 404
        async with http.get(f"{server.url}/common/..%2f..%2fpyproject.toml") as outside:
            assert outside.status == 404
        async with http.get(f"{server.url}/common/dom.js") as found:
            assert found.status == 200 and "javascript" in found.content_type
        async with http.delete(f"{server.url}/v1/queues") as wrong:
            assert wrong.status == 405
            assert wrong.content_type == "application/problem+json"
            assert "GET" in wrong.headers["Allow"]
