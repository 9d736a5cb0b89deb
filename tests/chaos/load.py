"""The load of a fault run: agents at real desktops over the websocket, an adapter posting interactions,
and the audit that ends every run.

- :class:`Desk` is an agent who accepts every offer, works each interaction for a moment and completes
  it; when the socket drops it reconnects (to the next router when there are several), takes its work
  back from ``hello`` and goes on. A missed offer makes the agent away; like a person at the desk, it
  sets itself available again.
- :class:`Adapter` posts interactions at a steady rate and retries every failure (a 503, a refused or
  dropped connection) with the same external id, as channel adapters do, until it is answered 2xx.
- :func:`audit` checks the end state against PostgreSQL and the live index.

Sizes scale with ``OMNIROUTE_CHAOS_SCALE`` (default 1: 480 interactions per run, so the whole folder
runs in about 75 s on two cores); ``OMNIROUTE_CHAOS_SCALE=10`` posts ten times as many at the same rate.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis

from router.routing.keys import Keys
from tests.support.configs import chat_only, toml_value


def scale() -> float:
    raw = os.environ.get("OMNIROUTE_CHAOS_SCALE", "1")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"OMNIROUTE_CHAOS_SCALE must be a number, not {raw!r}") from None
    if not 0 < value <= 1000:
        raise ValueError(f"OMNIROUTE_CHAOS_SCALE must be in (0, 1000], not {value}")
    return value


QUEUE = "general"  # the queue of tests.support.configs.chat_only
CAPACITY = 3
HOLD_SECONDS = (0.15, 0.5)  # how long an agent works an interaction before completing it
OPEN = ("queued", "assigned", "wrapup")


def config_toml(namespace: str, tokens: dict[str, str]) -> str:
    """The routers' configuration: one chat queue, the agents, and the run's tokens (a token named in the
    file is stored at start, so no request of the run depends on an admin call)."""
    agents = sorted(a for a in tokens if a != "adapter")
    config = chat_only(
        agents,
        capacity=CAPACITY,
        offer_timeout_seconds=10,
        namespace=namespace,
        # longer than a run: held work is never requeued because its agent is away, so a second
        # assignment of one interaction is always a fault
        reconnect_grace_seconds=60,
        reconcile_interval_seconds=0.5,
        # a killed process is declared dead after ten missed beats: 2 s here instead of 10 s
        heartbeat_seconds=0.2,
    )
    entries = [{"token": tokens["adapter"], "role": "adapter"}]
    entries += [{"token": tokens[a], "role": "agent", "agent_id": a} for a in agents]
    listed = "".join(
        "\n[[tokens]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in e.items()) for e in entries
    )
    return str(config) + listed


@dataclass
class Ledger:
    """What the adapter and the desks saw, with monotonic times."""

    answered: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # external id -> ids
    answered_at: dict[str, float] = field(default_factory=dict)
    posted: int = 0
    refused_503: int = 0
    connection_errors: int = 0
    other_errors: Counter[str] = field(default_factory=Counter)
    unanswered: list[str] = field(default_factory=list)
    accepts: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # id -> agents
    accepted_at: list[float] = field(default_factory=list)
    completed: set[str] = field(default_factory=set)
    connects: list[tuple[str, float]] = field(default_factory=list)
    disconnects: list[tuple[str, float, int | None]] = field(default_factory=list)  # with close code
    missed_offers: int = 0
    accept_errors: Counter[str] = field(default_factory=Counter)
    frames_before_hello: int = 0
    # what each desk saw of each interaction, in order ("c2 complete:unavailable"), for the audit's verdicts
    trail: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def reconnects(self) -> int:
        agents = {a for a, _ in self.connects}
        return len(self.connects) - len(agents)


def _ws_url(url: str) -> str:
    return "ws" + url.removeprefix("http")


class Desk:
    """One agent's desktop (see the module's docstring)."""

    def __init__(self, agent_id: str, token: str, urls: Sequence[str], ledger: Ledger) -> None:
        self.agent_id, self.token, self.ledger = agent_id, token, ledger
        self.urls = list(urls)
        self.home = 0
        self.held: set[str] = set()
        self.connected = False
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ref = 0
        self._pending: dict[str, tuple[str, str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self, home: int = 0) -> None:
        self.home = home
        self.task = asyncio.create_task(self._run(), name=f"desk-{self.agent_id}")

    async def stop(self) -> None:
        self._stop.set()
        if self._ws is not None:
            await self._ws.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, 15)

    async def _run(self) -> None:
        k = self.home
        async with aiohttp.ClientSession() as http:
            while not self._stop.is_set():
                url = self.urls[k % len(self.urls)]
                try:
                    ws = await http.ws_connect(
                        f"{_ws_url(url)}/v1/agents/{self.agent_id}/socket?token={self.token}",
                        heartbeat=5,
                        timeout=aiohttp.ClientWSTimeout(ws_close=2),
                    )
                except (aiohttp.ClientError, OSError, TimeoutError):
                    k += 1  # that router is gone or refusing: try the next one
                    await asyncio.sleep(0.2 + random.random() * 0.3)
                    continue
                self._ws = ws
                try:
                    await self._session(ws)
                except (aiohttp.ClientError, OSError, TimeoutError):
                    pass
                finally:
                    self.connected = False
                    self._ws = None
                    for t in self._tasks:
                        t.cancel()
                    self._tasks.clear()
                    self._pending.clear()
                    code = ws.close_code if ws.closed else None
                    if not ws.closed:
                        await ws.close()
                if not self._stop.is_set():
                    self.ledger.disconnects.append((self.agent_id, time.monotonic(), code))
                    await asyncio.sleep(0.1 + random.random() * 0.2)

    async def _send(
        self, ws: aiohttp.ClientWebSocketResponse, kind: str, iid: str, frame: dict[str, Any]
    ) -> None:
        self._ref += 1
        ref = f"r{self._ref}"
        self._pending[ref] = (kind, iid)
        try:
            await ws.send_str(json.dumps({**frame, "ref": ref}))
        except (ConnectionError, RuntimeError):
            pass  # the socket is going; the read loop ends and the desk reconnects

    def _later(self, delay: float, coro_fn: Any, *args: Any) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            await coro_fn(*args)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _complete(self, ws: aiohttp.ClientWebSocketResponse, iid: str) -> None:
        if iid in self.held and not ws.closed:
            await self._send(ws, "complete", iid, {"type": "complete", "interaction_id": iid})

    async def _available(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        if not ws.closed:
            await self._send(ws, "state", "", {"type": "set_state", "state": "available"})

    async def _accept(self, ws: aiohttp.ClientWebSocketResponse, offer: dict[str, Any]) -> None:
        iid = offer["interaction"]["id"]
        await self._send(ws, "accept", iid, {"type": "accept", "offer_id": offer["offer_id"]})

    def _hold(self, ws: aiohttp.ClientWebSocketResponse, iid: str) -> None:
        self.held.add(iid)
        self._later(random.uniform(*HOLD_SECONDS), self._complete, ws, iid)

    async def _session(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        hello_seen = False
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            f = json.loads(msg.data)
            kind = f.get("type")
            if not hello_seen and kind != "hello":
                self.ledger.frames_before_hello += 1
            if kind == "hello":
                hello_seen = True
                self.connected = True
                self.ledger.connects.append((self.agent_id, time.monotonic()))
                # the server's word on what this agent holds replaces the desk's own memory
                dropped = self.held - {w["interaction"]["id"] for w in f["work"]}
                for iid in dropped:
                    self.ledger.trail[iid].append(f"{self.agent_id} hello:not-listed")
                self.held = set()
                for w in f["work"]:
                    self._hold(ws, w["interaction"]["id"])
                await self._available(ws)
                for offer in f["offers"]:
                    await self._accept(ws, offer)
            elif kind == "offer":
                await self._accept(ws, f)
            elif kind == "offer_revoked" and f.get("reason") == "timeout":
                self.ledger.missed_offers += 1
                self._later(0.3, self._available, ws)
            elif kind in ("ack", "error"):
                self._answer(ws, f)

    def _answer(self, ws: aiohttp.ClientWebSocketResponse, f: dict[str, Any]) -> None:
        what = self._pending.pop(str(f.get("ref")), None)
        if what is None:
            return
        kind, iid = what
        ok = f["type"] == "ack"
        code = f.get("code", "")
        if iid:
            detail = f" ({str(f.get('detail', ''))[:80]})" if not ok else ""
            self.ledger.trail[iid].append(f"{self.agent_id} {kind}:{code or 'ack'}{detail}")
        if kind == "accept":
            if ok:
                self.ledger.accepts[iid].append(self.agent_id)
                self.ledger.accepted_at.append(time.monotonic())
                self._hold(ws, iid)
            else:
                self.ledger.accept_errors[code] += 1
        elif kind == "complete":
            if ok:
                self.held.discard(iid)
                self.ledger.completed.add(iid)
            elif code in ("forbidden", "not_found"):
                self.held.discard(iid)  # not ours any more
            elif code == "conflict":  # in wrap-up: end it
                self._later(0, self._send_end_wrapup, ws, iid)
            else:  # the backend is down for a moment: try again
                self._later(0.5, self._complete, ws, iid)
        elif kind == "state" and not ok:
            self._later(0.5, self._available, ws)

    async def _send_end_wrapup(self, ws: aiohttp.ClientWebSocketResponse, iid: str) -> None:
        await self._send(ws, "complete", iid, {"type": "end_wrapup", "interaction_id": iid})


class Adapter:
    """A channel adapter posting interactions and retrying failures with the same external id."""

    def __init__(self, urls: Sequence[str], token: str, ledger: Ledger, run: str) -> None:
        self.urls, self.token, self.ledger, self.run = list(urls), token, ledger, run

    async def post_all(self, count: int, rate: float, concurrency: int = 32) -> None:
        gate = asyncio.Semaphore(concurrency)
        started = time.monotonic()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:

            async def one(n: int) -> None:
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
                async with gate:
                    await self._post(http, n)

            await asyncio.gather(*(one(n) for n in range(count)))

    async def _post(self, http: aiohttp.ClientSession, n: int) -> None:
        ext = f"{self.run}-{n}"
        body = {
            "channel": "chat",
            "external_id": ext,
            "queue": QUEUE,
            "from": {"kind": "chat_visitor", "value": f"{self.run}-visitor-{n}"},
            "content": "hello",
        }
        headers = {"Authorization": f"Bearer {self.token}"}
        self.ledger.posted += 1
        k, delay = n, 0.1
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            url = self.urls[k % len(self.urls)]
            try:
                async with http.post(url + "/v1/interactions", json=body, headers=headers) as resp:
                    if resp.status in (200, 201):
                        self.ledger.answered[ext].add((await resp.json())["id"])
                        self.ledger.answered_at.setdefault(ext, time.monotonic())
                        return
                    await resp.read()
                    if resp.status == 503:
                        self.ledger.refused_503 += 1
                    else:
                        self.ledger.other_errors[str(resp.status)] += 1
            except (aiohttp.ClientError, OSError, TimeoutError):
                self.ledger.connection_errors += 1
            k += 1  # the next router, if there are several
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)
        self.ledger.unanswered.append(ext)


@dataclass
class Audit:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    ended: int = 0


async def open_count(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM interactions WHERE status = ANY($1)", list(OPEN))
        )
    finally:
        await conn.close()


async def audit(
    database_url: str, redis_url: str, namespace: str, ledger: Ledger, desks: Sequence[Desk]
) -> Audit:
    """The end state, against PostgreSQL (the record) and Redis (the live index).

    - **lost**: an external id answered 2xx that PostgreSQL does not hold, or an interaction not ended that
      is neither waiting in its queue nor offered to / held by a connected agent;
    - **duplicated**: an external id answered with two interaction ids, more than one ``assigned`` history
      row for one interaction, two accepts of one interaction, or two agents holding it in the live index;
    - **stuck**: an interaction not ended although it is in its place: waiting while an eligible agent
      has free capacity, or held by an agent whose desktop does not know it holds it (and never completes
      it);
    - **still open**: the rest of what has not ended (waiting for a busy agent, held by a desk that will
      complete it). A run gives everything a settle time first and its desks complete work in well under
      a second, so a run that drained has none.
    """
    out = Audit()
    keys = Keys.for_namespace(namespace)
    conn = await asyncpg.connect(database_url)
    r = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        rows = {
            row["external_id"]: row
            for row in await conn.fetch(
                "SELECT id, external_id, status, queue_id, agent_id FROM interactions"
            )
        }
        assigned_rows = {
            str(row["interaction_id"]): int(row["n"])
            for row in await conn.fetch(
                "SELECT interaction_id, count(*) AS n FROM interaction_history "
                "WHERE status = 'assigned' GROUP BY interaction_id"
            )
        }
        for ext, ids in sorted(ledger.answered.items()):
            if len(ids) > 1:
                out.duplicated.append(f"{ext}: answered with {len(ids)} interaction ids")
            row = rows.get(ext)
            if row is None:
                out.lost.append(f"{ext}: answered 2xx, not in PostgreSQL")
        for ext, row in rows.items():
            if ext not in ledger.answered:
                continue  # a request the adapter never saw answered (counted as unanswered)
            iid = str(row["id"])
            if assigned_rows.get(iid, 0) > 1:
                out.duplicated.append(f"{iid}: {assigned_rows[iid]} assigned rows in its history")
            if len(ledger.accepts.get(iid, [])) > 1:
                out.duplicated.append(f"{iid}: accepted by {ledger.accepts[iid]}")
            if row["status"] not in OPEN:
                out.ended += 1
                continue
            live = await r.hgetall(keys.interaction(iid))
            st = live.get("st")
            if not live:
                out.lost.append(f"{iid} ({row['status']} in PostgreSQL): not in the live index")
            elif st == "waiting":
                if await r.zscore(keys.queue(row["queue_id"]), iid) is None:
                    out.lost.append(f"{iid}: waiting but not in queue {row['queue_id']}")
                elif await _free_agent(r, keys, row["queue_id"]):
                    out.stuck.append(f"{iid}: waiting while an eligible agent has free capacity")
                else:
                    out.still_open.append(f"{iid}: waiting, no eligible agent has free capacity")
            else:
                agent = live.get("agent", "")
                if await r.hget(keys.agent(agent), "connected") != "1":
                    out.lost.append(f"{iid}: {st} by {agent!r}, who is not connected")
                elif not any(d.agent_id == agent and iid in d.held for d in desks):
                    out.stuck.append(
                        f"{iid}: {st} by {agent} in the live index ({row['status']} by "
                        f"{row['agent_id']} in PostgreSQL), unknown to {agent}'s desktop; "
                        f"the desks saw: {', '.join(ledger.trail.get(iid, [])) or 'nothing'}"
                    )
                else:
                    out.still_open.append(f"{iid}: {st} by {agent}, not completed yet")
        holders: dict[str, list[str]] = defaultdict(list)
        for d in desks:
            for iid in await r.smembers(keys.agent_work(d.agent_id)):
                holders[iid].append(d.agent_id)
        out.duplicated += [
            f"{iid}: held by {agents} in the live index" for iid, agents in holders.items() if len(agents) > 1
        ]
    finally:
        await conn.close()
        await r.aclose()
    return out


async def _free_agent(r: aioredis.Redis, keys: Keys, queue: str) -> bool:
    for agent in await r.zrange(keys.queue_avail(queue), 0, -1):
        load, cap = await r.hmget(keys.agent(agent), "load:chat", "cap:chat")
        if int(load or 0) < int(cap or 0):
            return True
    return False
