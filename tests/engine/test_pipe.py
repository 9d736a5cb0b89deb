"""The engine's lean script connection (``router/routing/pipe.py``) on real Redis servers: answers in
order under many calls at once, errors as redis-py raises them, a restarted (empty) server, a password
and a database number."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from router.backends import RedisCommandCount, redis_client
from router.routing.engine import Engine
from router.routing.events import StreamReader
from router.routing.pipe import Pipe, _Protocol, target_of
from tests.chaos.backends import OwnRedis

ECHO = "return ARGV[1]"
FAIL = "return redis.error_reply('boom ' .. ARGV[1])"
# a script that holds the server for a while (Lua cannot sleep): a call still on the wire
BUSY = "local n = 0 for i = 1, tonumber(ARGV[1]) do n = n + i end return ARGV[2]"
SET = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])"


def sha(source: str) -> str:
    import hashlib

    return hashlib.sha1(source.encode()).hexdigest()


async def call(pipe: Pipe, source: str, keys: list[str], args: list[object]) -> object:
    return await pipe.evalsha(sha(source), source, keys, args)


@pytest.fixture
async def pipe(redis_url: str) -> AsyncIterator[Pipe]:
    client = redis_client(redis_url)
    target = target_of(client)
    assert target is not None
    p = Pipe(target)
    yield p
    await p.close()
    await client.aclose(close_connection_pool=True)


async def test_many_calls_at_once_each_get_their_own_answer(pipe: Pipe) -> None:
    key = f"{{pipe-{uuid.uuid4().hex[:8]}}}:k"

    async def one(i: int) -> object:
        if i % 7 == 0:
            with pytest.raises(redis.exceptions.ResponseError, match=f"boom {i}$"):
                await call(pipe, FAIL, [key], [i])
            return f"error {i}"
        return await call(pipe, ECHO, [key], [f"answer {i} é"])

    answers = await asyncio.gather(*(one(i) for i in range(1000)))
    assert answers == [f"error {i}" if i % 7 == 0 else f"answer {i} é" for i in range(1000)]


async def test_a_cancelled_call_leaves_the_next_answers_in_step(pipe: Pipe) -> None:
    key = f"{{pipe-{uuid.uuid4().hex[:8]}}}:k"
    slow = asyncio.ensure_future(call(pipe, BUSY, [key], [3_000_000, "slow"]))
    await asyncio.sleep(0.01)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    # the cancelled call's answer is still read off the connection it went out on, before these
    assert await asyncio.gather(*(call(pipe, ECHO, [key], [i]) for i in range(10))) == [
        str(i) for i in range(10)
    ]


async def test_a_restarted_empty_server_gets_the_script_again(own_redis: OwnRedis) -> None:
    if not own_redis.running:
        own_redis.start()
    client = aioredis.Redis.from_url(own_redis.url, decode_responses=True)
    target = target_of(client)
    assert target is not None
    pipe = Pipe(target)
    key = "{pipe}:k"
    try:
        assert await call(pipe, SET, [key], ["one"]) == "one"
        # the script is known now: one EVALSHA per call
        before = RedisCommandCount.value
        assert await call(pipe, SET, [key], ["two"]) == "two"
        assert RedisCommandCount.value - before == 1
        # a call on the wire when the server goes away fails as redis-py's would
        waiting = asyncio.ensure_future(call(pipe, BUSY, [key], [200_000_000, "late"]))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(own_redis.stop)
        with pytest.raises(redis.exceptions.ConnectionError):
            await waiting
        with pytest.raises(redis.exceptions.ConnectionError):
            await call(pipe, SET, [key], ["down"])
        await asyncio.to_thread(own_redis.start)
        # empty again: NOSCRIPT, then the script itself, on a new connection
        before = RedisCommandCount.value
        assert await call(pipe, SET, [key], ["three"]) == "three"
        assert RedisCommandCount.value - before == 2
        assert await client.get(key) == "three"
    finally:
        await pipe.close()
        await client.aclose()
    with pytest.raises(redis.exceptions.ConnectionError, match="closed"):
        await call(pipe, ECHO, [key], [1])


async def test_password_and_database_number(own_redis: OwnRedis) -> None:
    if not own_redis.running:
        own_redis.start()
    admin = aioredis.Redis.from_url(own_redis.url, decode_responses=True)
    await admin.config_set("requirepass", "s3cret")
    url = own_redis.url.replace("redis://", "redis://:s3cret@").rsplit("/", 1)[0] + "/3"
    client = aioredis.Redis.from_url(url, decode_responses=True)
    target = target_of(client)
    assert target is not None and target.db == 3 and target.password == "s3cret"
    assert "s3cret" not in repr(target)  # a target that reaches a log never shows the password
    pipe = Pipe(target)
    try:
        assert await call(pipe, SET, ["{pipe}:db3"], ["here"]) == "here"
        assert await client.get("{pipe}:db3") == "here"
        assert await client.execute_command("SELECT", 0) and await client.get("{pipe}:db3") is None
        wrong = Pipe(target.__class__(**{**target.__dict__, "password": "wrong"}))
        with pytest.raises(redis.exceptions.AuthenticationError):
            await call(wrong, ECHO, ["{pipe}:k"], [1])
        await wrong.close()
    finally:
        await pipe.close()
        await client.config_set("requirepass", "")
        await client.aclose()
        await admin.aclose()


def test_where_the_pipe_goes(tmp_path: Path) -> None:
    plain = target_of(aioredis.Redis.from_url("redis://user:pw@example.test:6390/2"))
    assert plain is not None
    assert (plain.host, plain.port, plain.db, plain.username, plain.password) == (
        "example.test",
        6390,
        2,
        "user",
        "pw",
    )
    assert plain.encoding is None  # bytes, as the client was built
    unix = target_of(aioredis.Redis.from_url(f"unix://{tmp_path}/r.sock?db=1", decode_responses=True))
    assert (
        unix is not None and unix.path == f"{tmp_path}/r.sock" and unix.db == 1 and unix.encoding == "utf-8"
    )
    # TLS and Redis Cluster stay on redis-py
    assert target_of(aioredis.Redis.from_url("rediss://example.test:6390/0")) is None
    assert target_of(redis_client("redis+cluster://127.0.0.1:7000")) is None


async def test_the_pumps_stream_read_matches_redis_py(engine: Engine) -> None:
    stream = engine.keys.events
    ids = [
        await engine.redis.xadd(stream, {"type": "offer", "data": json.dumps({"n": i, "text": "ü 😀"})})
        for i in range(3)
    ]
    lean = StreamReader(engine)
    plain = StreamReader(engine)
    await plain.close()
    plain._pipe = None  # through redis-py, as on a Redis Cluster
    try:
        read = await lean("0-0")
        assert read == await plain("0-0")
        assert [i for i, _ in read] == [str(i) for i in ids]
        assert json.loads(read[2][1]["data"]) == {"n": 2, "text": "ü 😀"}
        assert await lean(str(ids[0])) == read[1:]
        # nothing newer: the read blocks for its block time, then answers nothing
        assert await lean(str(ids[-1])) == []
    finally:
        await lean.close()


def test_under_uvloop_as_the_server_runs(redis_url: str) -> None:
    """The router's processes run on uvloop, whose transports are not asyncio's classes."""
    import uvloop

    async def run() -> list[object]:
        client = redis_client(redis_url)
        target = target_of(client)
        assert target is not None
        p = Pipe(target)
        try:
            key = f"{{pipe-{uuid.uuid4().hex[:8]}}}:k"
            return list(await asyncio.gather(*(call(p, ECHO, [key], [i]) for i in range(200))))
        finally:
            await p.close()
            await client.aclose(close_connection_pool=True)

    assert uvloop.run(run()) == [str(i) for i in range(200)]


class _Transport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.aborted


def test_an_answer_nobody_asked_for_takes_the_connection_down() -> None:
    proto = _Protocol(None)
    transport = _Transport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    proto.data_received(b"+OK\r\n")
    assert transport.aborted and isinstance(proto.lost, redis.exceptions.ConnectionError)
    with pytest.raises(redis.exceptions.ConnectionError, match="nobody asked"):
        proto.send(b"*1\r\n$4\r\nPING\r\n")
