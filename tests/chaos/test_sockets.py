"""Socket abuse: a wallboard that stops reading while offers flow, two desktops of one agent racing to
connect, and a backend outage while sockets are open and being opened. Each test prints its figures."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil
import pytest
import redis.asyncio as aioredis

from router.config import Settings, parse_config
from router.realtime.outbox import STALL_SECONDS
from router.routing.keys import Keys
from tests.chaos.backends import OwnRedis
from tests.support.agents import AgentClient
from tests.support.configs import DEFAULT, chat_only
from tests.support.servers import RouterProcess, Services, TestServer

pytestmark = pytest.mark.chaos

SLOW_CONFIG = chat_only([f"a{n}" for n in range(1, 5)], capacity=3, offer_timeout_seconds=15)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Api:
    """The HTTP API of a router process, with tokens made by its admin token."""

    def __init__(self, url: str, admin_token: str) -> None:
        self.url, self.admin = url, admin_token
        self.session = aiohttp.ClientSession()
        self.tokens: dict[tuple[str, str | None], str] = {}

    async def close(self) -> None:
        await self.session.close()

    async def token(self, role: str, agent_id: str | None = None) -> str:
        if (role, agent_id) not in self.tokens:
            status, body = await self.call(
                "POST", "/v1/tokens", {"role": role, "agent_id": agent_id}, self.admin
            )
            assert status == 201, body
            self.tokens[(role, agent_id)] = body["token"]
        return self.tokens[(role, agent_id)]

    async def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(method, self.url + path, json=body, headers=headers) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text and resp.content_type.endswith("json") else text

    async def metric(self, name: str, **labels: str) -> float:
        status, text = await self.call("GET", "/metrics")
        assert status == 200
        want = (
            "omniroute_"
            + name
            + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
        )
        for line in str(text).splitlines():
            key, _, value = line.rpartition(" ")
            if key == want:
                return float(value)
        return 0.0


@dataclass
class Desk:
    """A healthy desktop that accepts every offer and completes the work at once; it notes when each offer
    frame arrived."""

    agent_id: str
    ws: aiohttp.ClientWebSocketResponse
    offers: dict[str, float] = field(default_factory=dict)
    completed: int = 0
    frames_before_hello: int = 0

    async def run(self) -> None:
        seen_hello = False
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            kind = frame["type"]
            if kind == "hello":
                seen_hello = True
                await self.ws.send_json({"type": "set_state", "state": "available"})
            elif not seen_hello:
                self.frames_before_hello += 1
            if kind == "offer":
                self.offers[frame["offer_id"]] = time.time()
                await self.ws.send_json({"type": "accept", "offer_id": frame["offer_id"]})
            elif kind == "assigned":
                iid = frame["interaction"]["id"]
                await self.ws.send_json({"type": "complete", "interaction_id": iid, "summary": "done"})
            elif kind == "interaction_ended" and frame["reason"] == "completed":
                self.completed += 1


async def _offer_publish_times(redis_url: str, namespace: str) -> dict[str, float]:
    """offer id -> when the offer event was appended to the stream (its id is Redis's clock, in ms)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        out: dict[str, float] = {}
        key, last = Keys.for_namespace(namespace).events, "-"
        while True:
            rows = await client.xrange(key, min=last, count=2000)
            if last != "-":
                rows = rows[1:]
            if not rows:
                return out
            for event_id, fields in rows:
                if fields.get("type") == "offer":
                    out[json.loads(fields["data"])["offer_id"]] = int(event_id.partition("-")[0]) / 1000
            last = rows[-1][0]
    finally:
        await client.aclose()


async def _drop_namespace(redis_url: str, namespace: str) -> None:
    """The run's large stream entries are not left in the machine's Redis."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [k async for k in client.scan_iter(match="{" + namespace + "}*", count=1000)]
        for i in range(0, len(keys), 500):
            await client.delete(*keys[i : i + 500])
    finally:
        await client.aclose()


async def test_a_wallboard_that_stops_reading_never_delays_offers(
    processes: Callable[[Any], Awaitable[RouterProcess]],
    services: Services,
    namespace: str,
    figures: Callable[[str], None],
) -> None:
    """A supervisor socket with ``?events=1`` that never reads (a wallboard laptop gone to sleep) while 200
    chats, the first ones carrying 100 kB messages, flow to four healthy desktops: offers keep their
    latency, the router's memory stays bounded, the sleeper is closed with 4008 and counted, and a
    healthy wallboard keeps receiving."""
    total, big, big_body = 200, 60, "x" * 100_000
    proc = await processes(SLOW_CONFIG)
    assert proc.proc is not None
    router = psutil.Process(proc.proc.pid)
    api = Api(proc.url, proc.admin_token)
    ws_base = proc.url.replace("http", "ws")
    sessions: list[aiohttp.ClientSession] = []
    try:
        sup_token, adapter = await api.token("supervisor"), await api.token("adapter")
        sleeper_session = aiohttp.ClientSession()
        sessions.append(sleeper_session)
        sleeper = await sleeper_session.ws_connect(
            f"{ws_base}/v1/supervisor/socket?events=1&token={sup_token}", max_msg_size=0
        )
        watcher_session = aiohttp.ClientSession()
        sessions.append(watcher_session)
        watcher = await watcher_session.ws_connect(
            f"{ws_base}/v1/supervisor/socket?events=1&token={sup_token}", max_msg_size=0
        )
        watched: list[dict[str, Any]] = []

        async def watch() -> None:
            async for msg in watcher:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    watched.append(json.loads(msg.data))

        watching = asyncio.create_task(watch())
        desks = []
        for n in range(1, 5):
            s = aiohttp.ClientSession()
            sessions.append(s)
            token = await api.token("agent", f"a{n}")
            ws = await s.ws_connect(f"{ws_base}/v1/agents/a{n}/socket?token={token}", max_msg_size=0)
            desks.append(Desk(f"a{n}", ws))
        running = [asyncio.create_task(d.run()) for d in desks]
        await asyncio.sleep(0.5)

        rss_start = router.memory_info().rss
        rss_peak = rss_start
        sampling = True

        async def sample() -> None:
            nonlocal rss_peak
            while sampling:
                rss_peak = max(rss_peak, router.memory_info().rss)
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        for i in range(total):
            status, body = await api.call(
                "POST",
                "/v1/interactions",
                {
                    "channel": "chat",
                    "queue": "general",
                    "external_id": f"slow-{uuid.uuid4().hex}",
                    "from": {"kind": "chat_visitor", "value": f"v-{i}"},
                    "content": f"hello {i}",
                },
                adapter,
            )
            assert status in (200, 201), body
            status, body = await api.call(
                "POST",
                f"/v1/interactions/{body['id']}/messages",
                {"body": big_body if i < big else f"and more {i}"},
                adapter,
            )
            assert status in (200, 201), body

        async def all_completed() -> None:
            while sum(d.completed for d in desks) < total:
                await asyncio.sleep(0.1)

        await asyncio.wait_for(all_completed(), 180)
        flowed = time.monotonic() - started

        async def judged_slow() -> float:
            while (value := await api.metric("sockets_closed_slow_total", kind="supervisor")) < 1:
                await asyncio.sleep(0.1)
            return value

        slow_closed = await asyncio.wait_for(judged_slow(), 60)
        judged_after = time.monotonic() - started
        sampling = False
        await sampler
        rss_end = router.memory_info().rss
        sleeper_frames = 0
        async for msg in sleeper:  # it wakes up: what it had, then the close frame
            sleeper_frames += msg.type == aiohttp.WSMsgType.TEXT
        sleeper_code = sleeper.close_code

        publish = await _offer_publish_times(services.redis_url, namespace)
        latencies = [
            received - publish[offer_id]
            for d in desks
            for offer_id, received in d.offers.items()
            if offer_id in publish
        ]
        agents_slow = await api.metric("sockets_closed_slow_total", kind="agent")
        abandoned = await api.metric("socket_closes_abandoned_total", kind="supervisor")
        await watcher.send_json({"type": "ping", "ref": "still-there"})

        async def acked() -> None:
            while not any(f["type"] == "ack" and f.get("ref") == "still-there" for f in watched):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(acked(), 10)
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        figures(
            f"slow wallboard: {total} chats in {flowed:.1f} s, {len(latencies)} offers; offer latency "
            f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
            f"router RSS {rss_start >> 20} MiB at start, {rss_peak >> 20} MiB peak, "
            f"{rss_end >> 20} MiB at end; judged too slow {judged_after:.1f} s after the first chat; "
            f"sleeper closed with {sleeper_code} (slow {slow_closed:g}, abandoned {abandoned:g}), "
            f"{sleeper_frames} frames read on waking; healthy wallboard got {len(watched)} frames"
        )
        assert sum(d.completed for d in desks) == total
        assert len(latencies) >= total
        assert sleeper_code == 4008, "the sleeper is closed as too slow"
        assert slow_closed == 1 and agents_slow == 0, "only the sleeper was too slow"
        # Offers never wait on the sleeper: had its socket held up the dispatch, the offers behind it would
        # wait until it is judged too slow (STALL_SECONDS, 5 s) and closed. Half of that tells the two apart
        # however slow the machine is; the actual figure (tens of ms) is printed above.
        assert p99 < STALL_SECONDS / 2, f"offer latency p99 {p99:.3f} s"
        assert rss_peak - rss_start < 64 << 20, "the router's memory stays bounded"
        assert not watcher.closed, "the healthy wallboard is still served (its ping was acked)"
        assert len(watched) > total, "the healthy wallboard received the events"
        assert all(d.frames_before_hello == 0 for d in desks)
        for t in running:
            t.cancel()
        watching.cancel()
    finally:
        for s in sessions:
            await s.close()
        await api.close()
        await proc.stop()
        await _drop_namespace(services.redis_url, namespace)


# ---------------------------------------------------------------- racing reconnects


@dataclass
class Attempt:
    session: aiohttp.ClientSession
    ws: aiohttp.ClientWebSocketResponse
    frames: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.frames.append(json.loads(msg.data))

    @property
    def hello(self) -> dict[str, Any] | None:
        return next((f for f in self.frames if f["type"] == "hello"), None)


async def _settled(a: Attempt, b: Attempt, trial: int) -> tuple[Attempt, Attempt]:
    """(survivor, loser) once one socket is closed and the other has its hello."""
    while True:
        closed = [x for x in (a, b) if x.ws.closed]
        assert len(closed) < 2, f"trial {trial}: both sockets were closed"
        if len(closed) == 1:
            survivor = a if closed[0] is b else b
            if survivor.hello is not None:
                return survivor, closed[0]
        await asyncio.sleep(0.01)


async def test_racing_desktops_of_one_agent_leave_exactly_one_socket_and_no_ghost(
    server: TestServer, figures: Callable[[str], None]
) -> None:
    """Two desktops of one agent connect at the same moment, 50 times: each time exactly one socket stays
    open and has its hello, the other is closed with 4001, and the live index says connected with the
    survivor's session; once the survivor closes, it says disconnected."""
    token = await server.token("agent", "carol")
    url = server.url.replace("http", "ws") + f"/v1/agents/carol/socket?token={token}"
    first_won = 0
    took: list[float] = []

    async def connect() -> Attempt:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(url)
        attempt = Attempt(session, ws)
        attempt.reader = asyncio.create_task(attempt.read())
        return attempt

    for trial in range(50):
        started = time.monotonic()
        a, b = await asyncio.gather(connect(), connect())
        try:
            survivor, loser = await asyncio.wait_for(_settled(a, b, trial), 15)
            took.append(time.monotonic() - started)
            await asyncio.sleep(0.2)  # nothing else happens to the survivor
            assert not survivor.ws.closed, f"trial {trial}: the survivor was closed"
            assert loser.ws.close_code == 4001, f"trial {trial}: closed with {loser.ws.close_code}"
            hello = survivor.hello
            assert hello is not None and survivor.frames[0]["type"] == "hello"
            live = await server.engine.agent_live("carol")
            assert live.get("connected") == "1", f"trial {trial}: {live}"
            assert live.get("session") == hello["session_id"], (
                f"trial {trial}: the index names another session"
            )
            assert server.hub.agents["carol"].session_id == hello["session_id"]
            first_won += survivor is a
            await survivor.ws.close()

            async def disconnected() -> None:
                while (await server.engine.agent_live("carol")).get("connected") != "0":
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(disconnected(), 10)
            assert "carol" not in server.hub.agents
        finally:
            for x in (a, b):
                await x.ws.close()
                if x.reader is not None:
                    await asyncio.gather(x.reader, return_exceptions=True)
                await x.session.close()
    figures(
        f"racing reconnects: 50 races, one survivor and no ghost each; the first socket won {first_won}, "
        f"settled in p50 {statistics.median(took) * 1000:.0f} ms, max {max(took) * 1000:.0f} ms"
    )


# ---------------------------------------------------------------- a backend outage


async def test_a_backend_outage_answers_frames_with_errors_and_refuses_new_sockets_before_the_upgrade(
    make_server: Any, services: Services, own_redis: OwnRedis, figures: Callable[[str], None]
) -> None:
    """With the router's Redis stopped: an open desktop socket answers a frame that needs Redis with an
    ``unavailable`` error frame and stays open (ping still acked); a new desktop or wallboard socket is
    refused with 503 problem+json before the upgrade. Once Redis is back (empty), a new socket opens."""
    del make_server  # requested for its clean database only
    cfg = parse_config(str(DEFAULT), source="test config")
    cfg.routing.namespace = "t" + uuid.uuid4().hex[:10]
    settings = Settings(
        file=cfg,
        database_url=services.database_url,
        redis_url=own_redis.url,
        admin_token="admin-" + uuid.uuid4().hex,
        data_dir=services.data_dir,
    )
    server = TestServer(settings)
    await server.start()
    desk: AgentClient | None = None
    try:
        desk = await server.agent("bob", available=False)
        sup_token = await server.token("supervisor")
        assert (await desk.call({"type": "ping"}))["type"] == "ack"
        await asyncio.to_thread(own_redis.stop)
        started = time.monotonic()
        answer = await desk.call({"type": "set_state", "state": "available"}, timeout=60)
        answered_in = time.monotonic() - started
        assert answer["type"] == "error" and answer["code"] == "unavailable", answer
        assert (await desk.call({"type": "ping"}))["type"] == "ack", "the socket stayed open"
        assert desk.ws is not None and not desk.ws.closed

        refused = []
        assert server.session is not None
        for path, token in (
            ("/v1/agents/bob/socket", await server.token("agent", "bob")),
            ("/v1/supervisor/socket", sup_token),
        ):
            headers = {
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
            }
            t0 = time.monotonic()
            async with server.session.get(f"{server.url}{path}?token={token}", headers=headers) as resp:
                body = await resp.json(content_type=None)
                refused.append((resp.status, resp.content_type, time.monotonic() - t0))
                assert resp.status == 503, (resp.status, body)
                assert resp.content_type == "application/problem+json"
                assert "Upgrade" not in resp.headers
        assert (await desk.call({"type": "ping"}))["type"] == "ack"

        await asyncio.to_thread(own_redis.start)  # back, empty: the router rebuilds its index from PostgreSQL

        async def reopened() -> dict[str, Any]:
            while True:
                try:
                    again = await server.agent("carol", available=False)
                    hello = again.hello
                    await again.close()
                    return hello
                except aiohttp.WSServerHandshakeError as exc:
                    assert exc.status == 503
                    await asyncio.sleep(0.2)

        hello = await asyncio.wait_for(reopened(), 60)
        assert hello["type"] == "hello" and hello["agent_id"] == "carol"
        figures(
            f"backend outage: a frame needing Redis answered 'unavailable' in {answered_in:.2f} s, "
            f"the socket stayed open; new sockets refused before the upgrade: "
            + ", ".join(f"{s} {ct} in {t * 1000:.0f} ms" for s, ct, t in refused)
        )
    finally:
        if desk is not None:
            await desk.close()
        if not own_redis.running:
            await asyncio.to_thread(own_redis.start)
        await server.stop()
