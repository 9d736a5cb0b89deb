"""Invariants 2 and 3: after a router process is killed mid-load, or Redis is flushed, every
interaction not ended is waiting at its original place or held by a connected agent; ingest answered
2xx is durable and retries with the same external id never duplicate."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis

from router.routing.engine import rank_score
from tests.support.agents import AgentClient
from tests.support.configs import chat_only
from tests.support.servers import RouterProcess, Services, TestServer

AGENTS = ["n1", "n2", "n3", "n4"]

CONFIG = chat_only(
    AGENTS,
    capacity=2,
    offer_timeout_seconds=60,
    reconnect_grace_seconds=30,
    reconcile_interval_seconds=0.5,
    heartbeat_seconds=0.2,
)


async def check_nothing_lost(database_url: str, redis_url: str, namespace: str) -> dict[str, Any]:
    """Every open interaction in PostgreSQL is waiting in its queue at its original rank, or offered to /
    held by a connected agent. Returns what it saw."""
    p = "{" + namespace + "}"
    conn = await asyncpg.connect(database_url)
    r = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        rows = await conn.fetch(
            "SELECT id, queue_id, status, priority, venq_ms, agent_id FROM interactions "
            "WHERE status IN ('queued', 'assigned', 'wrapup')"
        )
        seen: dict[str, list[str]] = {"waiting": [], "offered": [], "assigned": []}
        for row in rows:
            iid = str(row["id"])
            live = await r.hgetall(f"{p}:i:{iid}")
            assert live, f"interaction {iid} ({row['status']}) is in no queue and held by no one"
            st = live["st"]
            if st == "waiting":
                score = await r.zscore(f"{p}:q:{row['queue_id']}", iid)
                assert score == rank_score(row["priority"], row["venq_ms"]), f"{iid} lost its place"
            else:
                agent = live["agent"]
                assert await r.hget(f"{p}:a:{agent}", "connected") == "1", f"{iid} is {st} by a gone agent"
                if st == "assigned":
                    assert await r.sismember(f"{p}:aw:{agent}", iid)
                    assert row["status"] == "assigned" and row["agent_id"] == agent, (row, live)
            seen[st if st in seen else "assigned"].append(iid)
        return seen
    finally:
        await conn.close()
        await r.aclose()


class Holder:
    """An agent that accepts whatever it is offered and holds it, reconnecting wherever it is told."""

    def __init__(self, agent_id: str, token: str) -> None:
        self.agent_id, self.token = agent_id, token
        self.client: AgentClient | None = None
        self.held: set[str] = set()
        self.task: asyncio.Task[None] | None = None

    async def connect(self, url: str) -> None:
        self.client = AgentClient(url, self.agent_id, self.token)
        hello = await self.client.connect()
        self.held |= {w["interaction"]["id"] for w in hello["work"]}
        await self.client.set_state("available")
        for offer in hello["offers"]:
            await self._accept(offer)
        self.task = asyncio.create_task(self._run())

    async def _accept(self, offer: dict[str, Any]) -> None:
        assert self.client is not None
        ack = await self.client.call({"type": "accept", "offer_id": offer["offer_id"]})
        if ack["type"] == "ack":
            self.held.add(ack["result"]["interaction_id"])

    async def _run(self) -> None:
        assert self.client is not None
        try:
            while True:
                await self._accept(await self.client.next("offer", timeout=3600))
        except (ConnectionError, asyncio.CancelledError):
            pass

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        if self.client:
            await self.client.close()


async def _tokens(url: str, admin: str) -> dict[str, str]:
    out = {}
    async with aiohttp.ClientSession() as http:
        for role, agent in [("adapter", None)] + [("agent", a) for a in AGENTS]:
            async with http.post(
                url + "/v1/tokens",
                json={"role": role, "agent_id": agent},
                headers={"Authorization": f"Bearer {admin}"},
            ) as resp:
                assert resp.status == 201
                out[agent or role] = (await resp.json())["token"]
    return out


async def _wait_for(predicate: Any, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_kill_9_mid_load_loses_nothing(processes: Any, services: Services, namespace: str) -> None:
    p1: RouterProcess = await processes(CONFIG)
    p2: RouterProcess = await processes(CONFIG)
    tokens = await _tokens(p1.url, p1.admin_token)
    holders = [Holder(a, tokens[a]) for a in AGENTS]
    for k, h in enumerate(holders):
        await h.connect(p1.url if k < 2 else p2.url)

    answered: dict[str, str] = {}
    retried = 0

    async def post(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal retried
        body = {
            "channel": "chat",
            "external_id": f"ext-{n}",
            "queue": "general",
            "from": {"kind": "chat_visitor", "value": f"v{n}"},
            "content": "hi",
        }
        headers = {"Authorization": f"Bearer {tokens['adapter']}"}
        for url in [p1.url, p2.url] if n % 2 == 0 else [p2.url]:
            try:
                async with http.post(url + "/v1/interactions", json=body, headers=headers) as resp:
                    assert resp.status in (200, 201), await resp.text()
                    answered[f"ext-{n}"] = (await resp.json())["id"]
                    return
            except (aiohttp.ClientError, ConnectionError):
                retried += 1  # the router died under this request: retry elsewhere with the same id

    async with aiohttp.ClientSession() as http:
        first = [asyncio.create_task(post(http, n)) for n in range(30)]
        await asyncio.sleep(0.05)
        p1.kill()
        second = [asyncio.create_task(post(http, n)) for n in range(30, 60)]
        await asyncio.gather(*first, *second)
        # every request was eventually answered, and repeats of answered ones change nothing
        assert len(answered) == 60
        before = dict(answered)
        await asyncio.gather(*(post(http, n) for n in range(0, 60, 3)))
        assert answered == before

    # agents of the dead process reconnect to the living one
    for h in holders[:2]:
        await h.close()
        await h.connect(p2.url)

    async def settled() -> bool:
        return sum(len(h.held) for h in holders) == 8

    await _wait_for(settled)
    await asyncio.sleep(1.2)  # a reconcile round
    seen = await check_nothing_lost(services.database_url, services.redis_url, namespace)
    assert len(seen["assigned"]) == 8 and len(seen["waiting"]) == 52, seen
    conn = await asyncpg.connect(services.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM interactions") == 60, (
            "a retry duplicated an interaction"
        )
    finally:
        await conn.close()

    # and after the killed process is restarted, nothing changes
    p3: RouterProcess = await processes(CONFIG)
    assert p3.url
    await asyncio.sleep(1.2)
    seen2 = await check_nothing_lost(services.database_url, services.redis_url, namespace)
    assert sorted(seen2["assigned"]) == sorted(seen["assigned"])
    for h in holders:
        await h.close()


@pytest.mark.slow
async def test_redis_flush_rebuilds_queues_in_order_and_keeps_assignments(
    make_server: Any, services: Services, namespace: str
) -> None:
    server: TestServer = await make_server(CONFIG)
    holders = [Holder(a, await server.token("agent", a)) for a in AGENTS[:2]]
    for h in holders:
        await h.connect(server.url)
    ids = [
        (
            await server.ingest(
                channel="chat",
                queue="general",
                content="hi",
                **{"from": {"kind": "chat_visitor", "value": f"f{n}"}},
            )
        )["id"]
        for n in range(10)
    ]
    await _wait_for(lambda: _true_if(sum(len(h.held) for h in holders) == 4))
    p = "{" + namespace + "}"
    r = aioredis.Redis.from_url(services.redis_url, decode_responses=True)
    order_before = await r.zrange(f"{p}:q:general", 0, -1)
    assert order_before == [i for i in ids if i not in {x for h in holders for x in h.held}]

    # the live index is gone, as after FLUSHALL or a Redis restart (only this test's keys are removed, so
    # other runs sharing the server are untouched; every key of a routing domain carries its hash tag)
    # in one command, as FLUSHALL is: deleted key by key, the router would start rebuilding while the
    # deletion went on, and the rest of the deletion would then eat into the rebuilt index
    doomed = [key async for key in r.scan_iter(match=p + "*", count=1000)]
    await r.unlink(*doomed)

    async def rebuilt() -> bool:
        return bool(await r.exists(f"{p}:built")) and await r.hget(f"{p}:a:n1", "connected") == "1"

    await _wait_for(rebuilt)
    assert await r.zrange(f"{p}:q:general", 0, -1) == order_before, "the rebuilt queue lost its order"
    seen = await check_nothing_lost(services.database_url, services.redis_url, namespace)
    assert sorted(seen["assigned"]) == sorted(x for h in holders for x in h.held)

    # routing goes on: an agent finishing work gets the head of the queue
    h = holders[0]
    done = sorted(h.held)[0]
    assert h.client is not None
    ack = await h.client.call({"type": "complete", "interaction_id": done})
    assert ack["type"] == "ack", ack
    await _wait_for(lambda: _true_if(order_before[0] in h.held))
    await r.aclose()
    for h in holders:
        await h.close()


async def _true_if(value: bool) -> bool:
    return value
