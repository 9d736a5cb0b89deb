"""The engine's script calls on a lean connection: ``EVALSHA`` over multiplexed RESP with hiredis.

Every step of a contact (enqueue, accept, complete, release) is one script call, so what the client
library spends per command is spent several times per contact. On the machine the benchmarks run on
(a virtual machine, two cores) one ``PING``, one at a time, cost this process: redis-py 8 (pool,
timeouts, health checks, retries around each command) about 125 us of CPU; coredis 6 about 360 us;
valkey-glide 2.6 about 300 us (its Rust core answers through threads); a connection that writes the
command and lets hiredis (redis-py's own parser, kept by the Redis project) read the answer about
25 us. No maintained client offers that thin path, hence this module: the few lines between a
socket and hiredis, for the two commands the hot path sends: the scripts, and the event pump's read of
the stream. Everything else (other reads, pipelines, Redis Cluster, TLS) stays on redis-py.

A :class:`Pipe` keeps a few connections, each carrying any number of calls at once: Redis
answers a connection's commands in order, so each call waits on a future queued in sending order.
A lost connection fails the calls waiting on it with :class:`redis.exceptions.ConnectionError` (as
redis-py does: the caller cannot know whether the script ran; every step is idempotent or
checked by the caller) and the next call connects again. A ``NOSCRIPT`` answer (Redis restarted
empty, or ``SCRIPT FLUSH``) is answered by sending the script itself once.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import hiredis
import redis.asyncio as aioredis
import redis.exceptions
from redis._parsers import BaseParser  # redis-py's map of error replies to its exception classes

from router.backends import RedisCommandCount

CONNECTIONS = 2
"""Connections per pipe: one carries everything at once; a second keeps a large answer (a restore, a
long queue listing) from holding up the next contact's step."""


def _encode(args: Sequence[Any]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = bytes(a) if isinstance(a, bytes | memoryview) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self, encoding: str | None) -> None:
        self.reader = hiredis.Reader(encoding=encoding) if encoding else hiredis.Reader()
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not registered as asyncio.Transport, though they are ones
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError as exc:  # the stream is out of step: nothing after it can be trusted
                self._fail(redis.exceptions.ConnectionError(f"Redis protocol error: {exc}"))
                if self.transport is not None:
                    self.transport.abort()
                return
            if reply is False:
                return
            if not self.waiting:  # an answer nobody asked for: the connection is out of step
                self._fail(redis.exceptions.ConnectionError("Redis sent an answer nobody asked for"))
                if self.transport is not None:
                    self.transport.abort()
                return
            fut = self.waiting.popleft()
            if not fut.done():  # a caller that was cancelled still had its answer read off the wire
                fut.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(redis.exceptions.ConnectionError(f"Redis closed the connection: {exc or 'EOF'}"))

    def _fail(self, err: BaseException) -> None:
        self.lost = err
        while self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_exception(err)

    def send(self, payload: bytes) -> asyncio.Future[Any]:
        if self.lost is not None or self.transport is None or self.transport.is_closing():
            raise self.lost or redis.exceptions.ConnectionError("Redis connection closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append(fut)
        self.transport.write(payload)
        return fut

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class Target:
    """Where and how to connect, read from a redis-py client's pool (never logged: it holds the password)."""

    host: str | None
    port: int
    path: str | None
    db: int
    username: str | None
    password: str | None = field(repr=False)
    encoding: str | None
    connect_timeout: float | None


def target_of(client: Any) -> Target | None:
    """The pipe's target for a redis-py client, or None where the pipe does not go (a Redis Cluster, TLS,
    anything but a plain TCP or Unix socket connection)."""
    if not isinstance(client, aioredis.Redis):
        return None
    pool = client.connection_pool
    cls = pool.connection_class
    kw = pool.connection_kwargs
    if issubclass(cls, aioredis.SSLConnection) or kw.get("ssl"):
        return None
    unix = issubclass(cls, aioredis.UnixDomainSocketConnection)
    if not unix and not issubclass(cls, aioredis.Connection):
        return None
    if kw.get("credential_provider") is not None:
        return None
    return Target(
        host=None if unix else str(kw.get("host", "localhost")),
        port=int(kw.get("port", 6379)),
        path=str(kw["path"]) if unix else None,
        db=int(kw.get("db", 0) or 0),
        username=kw.get("username"),
        password=kw.get("password"),
        encoding=str(kw.get("encoding", "utf-8")) if kw.get("decode_responses") else None,
        connect_timeout=kw.get("socket_connect_timeout") or 10.0,
    )


def pipe_for(client: Any, connections: int = CONNECTIONS) -> Pipe | None:
    """A pipe to the server of a redis-py client, or None where the pipe does not go (:func:`target_of`)."""
    target = target_of(client)
    return Pipe(target, connections) if target is not None else None


class Pipe:
    """Calls over ``connections`` multiplexed connections to one Redis server: the engine's ``EVALSHA``, and
    the event pump's blocking ``XREAD`` on a pipe of its own."""

    def __init__(self, target: Target, connections: int = CONNECTIONS) -> None:
        self.target = target
        self._slots: list[_Protocol | None] = [None] * connections
        self._connecting: list[asyncio.Task[_Protocol] | None] = [None] * connections
        self._turn = itertools.cycle(range(connections))
        self._closed = False

    async def _open(self) -> _Protocol:
        t = self.target
        loop = asyncio.get_running_loop()

        def factory() -> _Protocol:
            return _Protocol(t.encoding)

        try:
            if t.path is not None:
                _, proto = await asyncio.wait_for(
                    loop.create_unix_connection(factory, t.path), t.connect_timeout
                )
            else:
                _, proto = await asyncio.wait_for(
                    loop.create_connection(factory, t.host or "localhost", t.port), t.connect_timeout
                )
        except (OSError, TimeoutError) as exc:
            raise redis.exceptions.ConnectionError(f"cannot connect to Redis: {exc}") from exc
        hello: list[bytes] = []
        if t.password is not None:
            auth = ["AUTH", t.username, t.password] if t.username else ["AUTH", t.password]
            hello.append(_encode(auth))
        if t.db:
            hello.append(_encode(["SELECT", t.db]))
        try:
            for payload in hello:
                _raise_error(await proto.send(payload))
        except BaseException:
            proto.close()
            raise
        return proto

    async def _connection(self) -> _Protocol:
        if self._closed:
            raise redis.exceptions.ConnectionError("the script pipe is closed")
        i = next(self._turn)
        proto = self._slots[i]
        if proto is not None and proto.lost is None and proto.transport is not None:
            if not proto.transport.is_closing():
                return proto
        task = self._connecting[i]
        if task is None or task.done():
            # one connect per slot at a time: the calls that arrive meanwhile wait on the same attempt
            task = asyncio.ensure_future(self._open())
            self._connecting[i] = task
        try:
            proto = await asyncio.shield(task)
        finally:
            if task.done():
                self._connecting[i] = None
        self._slots[i] = proto
        return proto

    async def evalsha(self, sha: str, source: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        proto = await self._connection()
        RedisCommandCount.value += 1
        reply = await proto.send(_encode(["EVALSHA", sha, len(keys), *keys, *args]))
        if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
            RedisCommandCount.value += 1
            reply = await proto.send(_encode(["EVAL", source, len(keys), *keys, *args]))
        return _raise_error(reply)

    async def execute(self, *args: Any) -> Any:
        """One command (any but a blocking one on a shared pipe: it would hold up every call behind it)."""
        proto = await self._connection()
        RedisCommandCount.value += 1
        return _raise_error(await proto.send(_encode(args)))

    async def close(self) -> None:
        self._closed = True
        for proto in self._slots:
            if proto is not None:
                proto.close()
        self._slots = [None] * len(self._slots)


def _raise_error(reply: Any) -> Any:
    if isinstance(reply, hiredis.ReplyError):
        raise BaseParser.parse_error(str(reply))  # type: ignore[no-untyped-call]
    return reply
