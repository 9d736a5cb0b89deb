"""``omniroute bench``: speed and scale of a running router, measured from the outside.

Phases (each can be skipped):

* ``latency``: Poisson arrivals at ``--rate`` across channels and queues; simulated agents
  (websocket clients) accept every offer and finish after a random handle time. Ingest -> offer
  latency is the time from sending ``POST /v1/interactions`` to the ``offer`` frame arriving.
* ``ramp``: the same at rising rates until the completed lifecycles (create -> offer -> accept ->
  complete -> wrap-up end) fall behind the arrivals, p99 latency passes ``--max-p99-ms``, the
  router sheds load (503 ``overloaded``) or errors appear; the best step is the sustained rate.
  ``--past-break N`` more steps then go past that breaking point, to show what overload does: each
  step prints the offered rate, the admitted rate, the share refused with 503 and the latency of
  the admitted work.
* ``baseline``: this machine's own limits, through the same client library the router uses: a
  plain ``EVALSHA`` of a script as large as the matching script, the engine's own routing
  scripts on a scratch namespace, and durable single-row ``INSERT`` s through asyncpg; then the CPU
  this process spends on one bare round trip (Redis ``PING``, PostgreSQL ``SELECT 1``), one after
  another: times the round trips a lifecycle makes, the least CPU a lifecycle can cost here.
* ``sockets``: many idle agent sockets (server memory per socket, spread over queues like a big
  center's agents) and supervisor sockets opened all at once: connect failures, first-snapshot size,
  and the time from a queue change to its ``queue`` frame at the last supervisor.
* ``--soak-minutes M``: instead of the phases, arrivals at a steady ``--rate`` for M minutes with
  the server's memory, Redis, the event stream and PostgreSQL sampled every ``--soak-interval``
  seconds and judged flat or not (``router.tools.soak``).

Server CPU and memory are sampled with psutil on the server's pid and its children (the workers
of ``--workers N``) throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import psutil  # type: ignore[import-untyped,unused-ignore]
from prometheus_client.parser import text_string_to_metric_families

from router.contracts import Channel
from router.tools import soak
from router.tools.baselines import baselines, pcts_ms, round_trip_floor_ms
from router.tools.simulate import Api, Progress, ServerHandle, SimAgent, child_env, launch_server, percentile

# the load's channels, each with the identity kind its customers arrive with
_IDENTITY_KIND: dict[str, str] = {
    Channel.voice: "phone",
    Channel.chat: "visitor",
    Channel.sms: "phone",
    Channel.email: "email",
}
CHANNELS = tuple(_IDENTITY_KIND)


# ---------------------------------------------------------------- server resources


class ResourceSampler:
    """Samples the server process (and its children) every ``interval`` seconds."""

    def __init__(self, pid: int | None, interval: float = 0.5) -> None:
        self.proc = psutil.Process(pid) if pid else None
        self.interval = interval
        self.samples: list[tuple[float, float, float, float]] = []  # t, server cpu %, rss MiB, machine cpu %
        self._task: asyncio.Task[None] | None = None
        self._known: dict[int, psutil.Process] = {}

    def _procs(self) -> list[psutil.Process]:
        """The server and its children, the same objects from one sample to the next: ``cpu_percent``
        measures from an object's previous call, so a new object per sample would always say 0."""
        assert self.proc is not None
        try:
            found = [self.proc, *self.proc.children(recursive=True)]
        except psutil.Error:
            found = [self.proc]
        known = self._known
        self._known = {p.pid: known.get(p.pid, p) for p in found}
        return list(self._known.values())

    async def __aenter__(self) -> ResourceSampler:
        if self.proc is not None:
            for p in self._procs():
                with contextlib.suppress(psutil.Error):
                    p.cpu_percent(None)
            psutil.cpu_percent(None)
            self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            cpu = 0.0
            for p in self._procs():
                with contextlib.suppress(psutil.Error):
                    cpu += p.cpu_percent(None)
            self.samples.append((time.monotonic(), cpu, self.rss_total_mib(), psutil.cpu_percent(None)))

    def rss_mib(self) -> float:
        if self.proc is None:
            return math.nan
        try:
            return float(self.proc.memory_info().rss) / 2**20
        except psutil.Error:
            return math.nan

    def rss_total_mib(self) -> float:
        """RSS of the server and all its children (the workers of ``--workers N``), added up."""
        if self.proc is None:
            return math.nan
        total = 0
        for p in self._procs():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return float(total) / 2**20

    def window(self, since: float) -> dict[str, float | None]:
        xs = [s for s in self.samples if s[0] >= since]
        if not xs:
            return {"server_cpu_pct": None, "server_rss_mib_max": None, "machine_cpu_pct": None}
        return {
            "server_cpu_pct": round(statistics.fmean(s[1] for s in xs), 1),
            "server_rss_mib_max": round(max(s[2] for s in xs), 1),
            "machine_cpu_pct": round(statistics.fmean(s[3] for s in xs), 1),
        }


# ---------------------------------------------------------------- load: arrivals and agents


@dataclass
class StepResult:
    rate: float
    seconds: float
    posted: int = 0
    offered: int = 0
    completed: int = 0
    errors: int = 0
    shed: int = 0
    """Refused with 503 ``overloaded`` (at capacity): not errors, the router protecting itself."""
    queued: int = 0
    latency_ms: list[float] = field(default_factory=list)
    latency_unqueued_ms: list[float] = field(default_factory=list)
    ingest_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    resources: dict[str, float | None] = field(default_factory=dict)
    client_cpu_pct: float | None = None

    @property
    def lifecycles_per_second(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    @property
    def admitted(self) -> int:
        return self.posted - self.shed - self.errors

    @property
    def shed_share(self) -> float:
        return self.shed / self.posted if self.posted else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "seconds": round(self.seconds, 3),
            "posted": self.posted,
            "offered_per_second": round(self.posted / self.seconds, 1) if self.seconds else 0.0,
            "admitted": self.admitted,
            "admitted_per_second": round(self.admitted / self.seconds, 1) if self.seconds else 0.0,
            "shed": self.shed,
            "shed_share": round(self.shed_share, 4),
            "offered": self.offered,
            "completed": self.completed,
            "lifecycles_per_second": round(self.lifecycles_per_second, 1),
            "errors": self.errors,
            "error_samples": self.error_samples[:5],
            "queued_at_ingest": self.queued,
            "ingest_to_offer_ms": pcts_ms(self.latency_ms),
            "ingest_to_offer_unqueued_ms": pcts_ms(self.latency_unqueued_ms),
            "ingest_http_ms": pcts_ms(self.ingest_ms),
            "load_generator_cpu_pct": self.client_cpu_pct,
            **self.resources,
        }


def rig_queue_ids(run_id: str, n: int) -> list[str]:
    return [f"bench-{run_id}-q{k}" for k in range(n)]


def rig_skill(run_id: str) -> str:
    return f"bench_{run_id}"


def rig_agent_id(run_id: str, k: int) -> str:
    return f"bench-{run_id}-a{k:04d}"


FLOOR_QUEUES = 20
"""The queues the idle agents of the sockets phase are spread over (the push queue is the first)."""


@dataclass
class Preset:
    """Queues, agents and tokens written into the configuration of the server the bench starts.

    Configuring thousands of agents through ``PUT /v1/agents`` one by one is slow on this router
    (each call re-syncs the whole directory; the sockets phase measures it), so when the bench
    starts the server itself it declares everything in the file instead.
    """

    run_id: str
    namespace: str
    rig_agents: list[tuple[str, str]]
    idle_agents: list[tuple[str, str]]
    supervisor_token: str
    push_queue: str

    @classmethod
    def make(cls, *, queues: int, agents: int, idle: int) -> Preset:
        run_id = uuid.uuid4().hex[:10]

        def tok() -> str:
            return "or_bench_" + secrets.token_urlsafe(18)

        return cls(
            run_id=run_id,
            namespace=f"bench-{run_id}",
            rig_agents=[(rig_agent_id(run_id, k), tok()) for k in range(agents)],
            idle_agents=[(f"idle-{run_id}-{k:05d}", tok()) for k in range(idle)],
            supervisor_token=tok(),
            push_queue=f"push-{run_id}",
        )

    def toml(self, queues: int, max_inflight: int | None = None, max_loop_lag_ms: float | None = None) -> str:
        """The rig's queues and agents; the idle agents are spread over ``FLOOR_QUEUES`` skills, the
        first of which the push queue asks for (a big center's queue, its agents signed in but away).
        ``max_inflight`` and ``max_loop_lag_ms`` set the server's overload limits."""
        skill = rig_skill(self.run_id)
        out = [f'[routing]\nnamespace = "{self.namespace}"\n']
        server = {"max_inflight": max_inflight, "max_loop_lag_ms": max_loop_lag_ms}
        if any(v is not None for v in server.values()):
            out.append("[server]\n" + "".join(f"{k} = {v}\n" for k, v in server.items() if v is not None))
        channels = ", ".join(f'"{c}"' for c in CHANNELS)
        for q in rig_queue_ids(self.run_id, queues):
            out.append(
                f'[[queues]]\nid = "{q}"\nname = "{q}"\nskills = {{ {skill} = 1 }}\n'
                f"channels = [{channels}]\noffer_timeout_seconds = 120\nwrapup_seconds = 0\n"
            )
        out.append(
            f'[[queues]]\nid = "{self.push_queue}"\nname = "{self.push_queue}"\n'
            f"skills = {{ floor0_{self.run_id} = 1 }}\n"
        )
        for f in range(1, FLOOR_QUEUES):
            out.append(
                f'[[queues]]\nid = "floor{f}-{self.run_id}"\nname = "floor {f}"\n'
                f"skills = {{ floor{f}_{self.run_id} = 1 }}\n"
            )
        for aid, _ in self.rig_agents:
            out.append(f'[[agents]]\nid = "{aid}"\nname = "{aid}"\nskills = {{ {skill} = 1 }}\n')
        for k, (aid, _) in enumerate(self.idle_agents):
            floor = f"floor{k % FLOOR_QUEUES}_{self.run_id}"
            out.append(f'[[agents]]\nid = "{aid}"\nname = "{aid}"\nskills = {{ {floor} = 1 }}\n')
        for aid, token in self.rig_agents + self.idle_agents:
            out.append(f'[[tokens]]\ntoken = "{token}"\nrole = "agent"\nagent_id = "{aid}"\n')
        out.append(f'[[tokens]]\ntoken = "{self.supervisor_token}"\nrole = "supervisor"\n')
        return "\n".join(out)


class LoadRig:
    """Queues, agents and an arrival generator on one running server."""

    def __init__(
        self,
        api: Api,
        server: ServerHandle,
        *,
        queues: int,
        agents: int,
        handle_ms: float,
        preset: Preset | None = None,
    ) -> None:
        self.api = api
        self.server = server
        self.preset = preset
        self.run_id = preset.run_id if preset else uuid.uuid4().hex[:10]
        self.queue_ids = rig_queue_ids(self.run_id, queues)
        self.skill = rig_skill(self.run_id)
        self.n_agents = agents
        self.handle_s = handle_ms / 1000.0
        self.rng = random.Random(7)
        self.agents: list[SimAgent] = []
        self._seq = 0
        self._posted: dict[str, tuple[float, StepResult]] = {}
        self._early: dict[str, float] = {}
        self._queued: set[str] = set()
        self._step: StepResult | None = None
        self._born: dict[str, StepResult] = {}
        self.finished = 0
        """Lifecycles completed (wrap-up ended) since the rig started, stragglers included."""

    async def setup(self, progress: Progress | None = None) -> None:
        if self.preset is not None:  # configured in the server's file: no API calls
            self.agents = [self._agent(aid, token) for aid, token in self.preset.rig_agents]
        else:
            await self._configure()
        for k in range(0, len(self.agents), 50):
            await asyncio.gather(*(self._connect(a) for a in self.agents[k : k + 50]))
            if progress:
                progress.update(k + 50, "connecting agents")
        await asyncio.sleep(0.5)

    async def _connect(self, agent: SimAgent, attempts: int = 5) -> None:
        """Connect one agent, retrying a 503 (a backend timing out on a busy machine) as a desktop does."""
        for attempt in range(attempts):
            try:
                await agent.connect(self.api.session, self.server.url)
                return
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status != 503 or attempt == attempts - 1:
                    raise
                await asyncio.sleep(1 + attempt)

    def _agent(self, aid: str, token: str) -> SimAgent:
        return SimAgent(
            aid,
            token,
            lambda: self.rng.expovariate(1.0 / self.handle_s),
            on_offer=self._on_offer,
            on_done=self._on_done,
        )

    async def _configure(self) -> None:
        for q in self.queue_ids:
            await self.api.must(
                "PUT",
                f"/v1/queues/{q}",
                {
                    "name": q,
                    "skills": {self.skill: 1},
                    "channels": list(CHANNELS),
                    "offer_timeout_seconds": 120,
                    "wrapup_seconds": 0,
                },
            )
        sem = asyncio.Semaphore(16)

        async def one(k: int) -> SimAgent:
            aid = rig_agent_id(self.run_id, k)
            async with sem:
                await self.api.must("PUT", f"/v1/agents/{aid}", {"name": aid, "skills": {self.skill: 1}})
                token = await self.api.token("agent", aid)
            return self._agent(aid, token)

        self.agents = list(await asyncio.gather(*(one(k) for k in range(self.n_agents))))

    async def close(self) -> None:
        await asyncio.gather(*(a.close() for a in self.agents), return_exceptions=True)

    def _on_offer(self, agent: SimAgent, iid: str, now: float) -> None:
        posted = self._posted.get(iid)
        if posted is None:
            self._early[iid] = now
            return
        self._record_offer(iid, posted, now)

    def _record_offer(self, iid: str, posted: tuple[float, StepResult], now: float) -> None:
        t0, step = posted
        ms = (now - t0) * 1000
        step.offered += 1
        step.latency_ms.append(ms)
        if iid not in self._queued:
            step.latency_unqueued_ms.append(ms)

    def _on_done(self, agent: SimAgent, iid: str, now: float) -> None:
        self.finished += 1
        if self._step is not None:
            self._step.completed += 1
        self._posted.pop(iid, None)
        self._queued.discard(iid)

    def _contact(self) -> dict[str, Any]:
        self._seq += 1
        ch = self.rng.choice(CHANNELS)
        kind = _IDENTITY_KIND[ch]
        n = self._seq
        value = f"b{n}-{self.run_id}@bench.invalid" if kind == "email" else f"+1999{n:08d}"
        if kind == "visitor":
            value = f"v-{self.run_id}-{n}"
        return {
            "channel": ch,
            "external_id": f"{self.run_id}-{n}",
            "from": {"kind": kind, "value": value},
            "queue": self.rng.choice(self.queue_ids),
            "join_open": False,
        }

    async def _post(self, step: StepResult, loop: asyncio.AbstractEventLoop) -> None:
        body = self._contact()
        t0 = loop.time()
        step.posted += 1
        try:
            status, data = await self.api.call("POST", "/v1/interactions", body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            step.errors += 1
            step.error_samples.append(repr(exc))
            return
        if status == 503 and isinstance(data, dict) and str(data.get("type", "")).endswith("/overloaded"):
            step.shed += 1
            return
        step.ingest_ms.append((loop.time() - t0) * 1000)
        if status >= 300 or not isinstance(data, dict):
            step.errors += 1
            step.error_samples.append(f"{status}: {str(data)[:200]}")
            return
        iid = str(data["id"])
        if data.get("position"):
            step.queued += 1
            self._queued.add(iid)
        self._posted[iid] = (t0, step)
        early = self._early.pop(iid, None)
        if early is not None:
            self._record_offer(iid, (t0, step), early)

    async def open_loop(
        self,
        rate: float,
        seconds: float,
        sampler: ResourceSampler,
        progress: Progress | None = None,
        progress_offset: float = 0.0,
    ) -> StepResult:
        """Poisson arrivals at ``rate`` for ``seconds``; lifecycles completed in the window count."""
        loop = asyncio.get_running_loop()
        step = StepResult(rate, seconds)
        self._step = step
        me = psutil.Process()
        cpu0 = me.cpu_times()
        mark = time.monotonic()
        start = loop.time()
        due = start
        tasks: set[asyncio.Task[None]] = set()
        while True:
            due += self.rng.expovariate(rate)
            if due - start >= seconds:
                break
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._post(step, loop))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if progress:
                progress.update(progress_offset + (loop.time() - start), f"{rate:g}/s")
        delay = start + seconds - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elapsed = loop.time() - start
        cpu1 = me.cpu_times()
        step.seconds = elapsed
        step.client_cpu_pct = round(
            100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / max(elapsed, 1e-9), 1
        )
        step.resources = sampler.window(mark)
        # wait for this step's stragglers (not counted as completed in the window)
        self._step = None
        for _ in range(600):  # up to 30 s
            if not tasks and not any(a.busy for a in self.agents):
                break
            await asyncio.sleep(0.05)
        return step


# ---------------------------------------------------------------- work per lifecycle

ROUND_TRIP_COUNTERS = {
    "pg_statements": "omniroute_pg_statements_total",
    "redis_commands": "omniroute_redis_commands_total",
}


@dataclass
class WorkMark:
    """The server's own counters at one moment: its round trips (from ``/metrics``) and CPU time."""

    counts: dict[str, float]
    cpu_seconds: float | None
    lifecycles: int

    @classmethod
    async def take(cls, api: Api, pid: int | None, lifecycles: int) -> WorkMark:
        status, text = await api.text("GET", "/metrics")
        counts: dict[str, float] = {}
        if status == 200:
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    for key, name in ROUND_TRIP_COUNTERS.items():
                        if sample.name == name:
                            counts[key] = counts.get(key, 0.0) + float(sample.value)
        cpu: float | None = None
        if pid:
            with contextlib.suppress(psutil.Error):
                server = psutil.Process(pid)
                cpu = 0.0
                for proc in [server, *server.children(recursive=True)]:  # the workers of --workers N
                    with contextlib.suppress(psutil.Error):
                        times = proc.cpu_times()
                        cpu += times.user + times.system
        return cls(counts, cpu, lifecycles)


def per_lifecycle(before: WorkMark, after: WorkMark, posted: int) -> dict[str, Any]:
    """Round trips and server CPU per full lifecycle (ingest, offer, accept, complete, wrap-up end) between
    two marks; the counters include the server's background work in that time (timers, presence, stats).
    Meaningful when the server kept up: with lifecycles still unfinished at the second mark (fewer
    ``lifecycles`` than ``posted``) their work is counted but they are not, and the figures are too high."""
    n = after.lifecycles - before.lifecycles
    out: dict[str, Any] = {"lifecycles": n, "posted": posted}
    if n <= 0:
        return out
    total = 0.0
    for key in ROUND_TRIP_COUNTERS:
        if key in before.counts and key in after.counts:
            v = (after.counts[key] - before.counts[key]) / n
            out[key] = round(v, 2)
            total += v
    if all(k in out for k in ROUND_TRIP_COUNTERS):
        out["round_trips"] = round(total, 2)
    if before.cpu_seconds is not None and after.cpu_seconds is not None:
        out["server_cpu_ms"] = round((after.cpu_seconds - before.cpu_seconds) * 1000 / n, 3)
    return out


# ---------------------------------------------------------------- many sockets


def _raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


HOLD_ATTEMPTS = 6
"""Tries per idle agent socket (a desktop retries a refused socket with a backoff)."""


def hold_sockets_main() -> None:
    """Child process: read ``{"url", "targets": [[path, token], ...]}`` from stdin, open one socket
    per target (retrying a refused one), print ``{"open", "failed", "retries", "rss"}``, hold them
    until stdin closes."""
    _raise_nofile()
    job = json.loads(sys.stdin.readline())
    url: str = job["url"]
    targets: list[list[str]] = job["targets"]

    async def main() -> None:
        timeout = aiohttp.ClientTimeout(total=120)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            sockets: list[aiohttp.ClientWebSocketResponse] = []
            sem = asyncio.Semaphore(100)
            retries = 0
            drains: list[asyncio.Task[None]] = []

            async def attempt(path: str, token: str) -> bool:
                async with sem:
                    try:
                        ws = await session.ws_connect(
                            url.replace("http", "ws", 1) + f"{path}?token={token}",
                            max_msg_size=0,
                            heartbeat=None,
                        )
                        first = await ws.receive(timeout=60)  # hello / snapshot
                    except (aiohttp.ClientError, TimeoutError, OSError):
                        return False
                    if first.type != aiohttp.WSMsgType.TEXT:
                        return False
                    sockets.append(ws)
                    # read on, as a desktop does: the client answers the server's pings only while reading
                    drains.append(asyncio.create_task(drain(ws)))
                    return True

            async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
                async for _ in ws:
                    pass

            async def one(path: str, token: str) -> None:
                # as a desktop does: a refused socket (503 while the server is swamped) is tried
                # again after a jittered, growing pause
                nonlocal retries
                for k in range(HOLD_ATTEMPTS):
                    if await attempt(path, token):
                        return
                    if k + 1 < HOLD_ATTEMPTS:
                        retries += 1
                        await asyncio.sleep(random.uniform(1.0, 2.0 ** (k + 1)))

            await asyncio.gather(*(one(p, t) for p, t in targets))
            await asyncio.sleep(2)
            # a socket the server closed after its first frame is not held
            sockets = [ws for ws in sockets if not ws.closed]
            failed = len(targets) - len(sockets)
            rss = psutil.Process().memory_info().rss
            print(
                json.dumps({"open": len(sockets), "failed": failed, "retries": retries, "rss": rss}),
                flush=True,
            )
            await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            await asyncio.gather(*drains, return_exceptions=True)

    asyncio.run(main())


async def phase_sockets(
    api: Api,
    server: ServerHandle,
    sampler: ResourceSampler,
    *,
    agents: int,
    supervisors: int,
    pushes: int,
    per_process: int,
    progress: Progress | None,
    preset: Preset | None = None,
) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    sem = asyncio.Semaphore(32)
    done = 0
    put_ms: list[float] = []

    async def agent_token(k: int) -> tuple[str, str]:
        nonlocal done
        aid = f"idle-{run_id}-{k:05d}"
        async with sem:
            t0 = time.perf_counter()
            await api.must("PUT", f"/v1/agents/{aid}", {"name": aid})
            put_ms.append((time.perf_counter() - t0) * 1000)
            token = await api.token("agent", aid)
        done += 1
        if progress:
            progress.update(done, f"configuring {agents} agents")
        return f"/v1/agents/{aid}/socket", token

    if preset is not None:
        targets = [(f"/v1/agents/{aid}/socket", token) for aid, token in preset.idle_agents]
    else:
        targets = list(await asyncio.gather(*(agent_token(k) for k in range(agents))))
    # what one more agent costs to configure once this many exist
    probe: list[float] = []
    for k in range(5):
        aid = f"probe-{run_id}-{k}"
        t0 = time.perf_counter()
        await api.must("PUT", f"/v1/agents/{aid}", {"name": aid})
        probe.append((time.perf_counter() - t0) * 1000)
    rss0 = await _settled_rss(sampler)
    holders: list[asyncio.subprocess.Process] = []
    t0 = time.monotonic()
    opened = failed = retried = 0
    client_rss = 0
    try:
        for k in range(0, len(targets), per_process):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "from router.tools.bench import hold_sockets_main; hold_sockets_main()",
                env=child_env(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            holders.append(proc)
            assert proc.stdin is not None
            job = {"url": server.url, "targets": targets[k : k + per_process]}
            proc.stdin.write(json.dumps(job).encode() + b"\n")
            await proc.stdin.drain()
        for proc in holders:
            assert proc.stdout is not None
            line = await proc.stdout.readline()
            if not line:
                raise RuntimeError(f"socket holder exited with {await proc.wait()}")
            msg = json.loads(line)
            opened += msg["open"]
            failed += msg["failed"]
            retried += msg.get("retries", 0)
            client_rss += msg["rss"]
        connect_s = time.monotonic() - t0
        rss1 = await _settled_rss(sampler)
        rss_total1 = sampler.rss_total_mib()
        out: dict[str, Any] = {
            "agent_sockets_requested": agents,
            "agent_sockets_open": opened,
            "agent_sockets_failed": failed,
            "agent_socket_retries": retried,
            "connect_seconds": round(connect_s, 2),
            "server_rss_mib_before": round(rss0, 1),
            "server_rss_mib_with_sockets": round(rss1, 1),
            "router_rss_mib_total_with_sockets": round(rss_total1, 1),
            "server_kib_per_agent_socket": round((rss1 - rss0) * 1024 / opened, 1) if opened else None,
            "client_rss_mib": round(client_rss / 2**20, 1),
            "client_processes": len(holders),
            "agents_configured_by": "config file" if preset else "PUT /v1/agents",
            "put_agent_ms_while_configuring": pcts_ms(put_ms),
            "put_agent_ms_with_all_configured": pcts_ms(probe),
        }
        try:
            push = await _supervisor_push(api, server, supervisors=supervisors, pushes=pushes, preset=preset)
            out.update(push)
        except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
            out["push_error"] = repr(exc)
        out["server_rss_mib_with_supervisors"] = round(sampler.rss_mib(), 1)
        out["router_processes"] = len(sampler._procs()) if server.pid else None
        out["router_rss_mib_total_with_supervisors"] = round(sampler.rss_total_mib(), 1)
        return out
    finally:
        for proc in holders:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in holders:
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _settled_rss(sampler: ResourceSampler) -> float:
    """RSS of all router processes once it stops moving (allocations after a burst settle within a
    second or two)."""
    last = sampler.rss_total_mib()
    for _ in range(10):
        await asyncio.sleep(0.5)
        now = sampler.rss_total_mib()
        if abs(now - last) < 0.5:
            return now
        last = now
    return last


SUPERVISOR_ATTEMPTS = 10
"""A supervisor socket refused with 503 at its upgrade is tried this many times in all."""


async def _supervisor_push(
    api: Api, server: ServerHandle, *, supervisors: int, pushes: int, preset: Preset | None = None
) -> dict[str, Any]:
    """Open supervisor sockets, make one queue change, time its arrival at every socket.

    Each socket has its own reader from the start (so pings are answered while the others are
    still opening); a push is timed from sending the ingest that changes the queue to the
    ``queue`` frame for that queue arriving at each socket.
    """
    if supervisors <= 0:
        return {}
    run_id = uuid.uuid4().hex[:8]
    if preset is not None:
        queue_id, token = preset.push_queue, preset.supervisor_token
    else:
        queue_id = f"push-{run_id}"
        body = {"name": queue_id, "skills": {f"nobody_{run_id}": 1}}
        await api.must("PUT", f"/v1/queues/{queue_id}", body)
        token = await api.token("supervisor")
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60)
    connector = aiohttp.TCPConnector(limit=0)
    loop = asyncio.get_running_loop()
    marker = f'"id":"{queue_id}"'
    current: dict[str, Any] = {"push": -1, "t0": 0.0}
    arrivals: dict[int, list[float]] = {}
    snapshot_bytes: list[int] = []
    failed: list[str] = []
    retried_503: list[int] = []

    async def reader(ws: aiohttp.ClientWebSocketResponse) -> None:
        seen = -1
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            n = current["push"]
            if n > seen and marker in msg.data.replace(" ", "") and '"type":"queue"' in msg.data:
                seen = n
                arrivals.setdefault(n, []).append((loop.time() - current["t0"]) * 1000)

    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        url = server.url.replace("http", "ws", 1) + f"/v1/supervisor/socket?token={token}"
        readers: list[asyncio.Task[None]] = []
        sockets: list[aiohttp.ClientWebSocketResponse] = []

        async def connect() -> None:
            # all at once, as a floor's screens come up together after a restart; a 503 before the upgrade
            # (the server's backends did not answer its probe in time) is tried again after its
            # Retry-After, as the wallboard does, and counted
            for attempt in range(SUPERVISOR_ATTEMPTS):
                try:
                    ws = await session.ws_connect(url, max_msg_size=0)
                    msg = await ws.receive(timeout=120)
                    break
                except aiohttp.WSServerHandshakeError as exc:
                    if exc.status != 503 or attempt == SUPERVISOR_ATTEMPTS - 1:
                        failed.append(repr(exc))
                        return
                    retried_503.append(attempt + 1)
                    after = exc.headers.get("Retry-After", "1") if exc.headers else "1"
                    await asyncio.sleep(float(after) if after.isdigit() else 1.0)
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    failed.append(repr(exc))
                    return
            if msg.type != aiohttp.WSMsgType.TEXT:
                failed.append(repr(msg.data))
                await ws.close()
                return
            snapshot_bytes.append(len(msg.data))
            sockets.append(ws)
            readers.append(asyncio.create_task(reader(ws)))

        t_open = time.monotonic()
        await asyncio.gather(*(connect() for _ in range(supervisors)))
        open_s = time.monotonic() - t_open
        await asyncio.sleep(1.0)
        to_last: list[float] = []
        each: list[float] = []
        missing = 0
        try:
            for n in range(pushes):
                current["t0"] = loop.time()
                current["push"] = n
                await api.must(
                    "POST",
                    "/v1/interactions",
                    {
                        "channel": "chat",
                        "external_id": f"push-{run_id}-{n}",
                        "from": {"kind": "visitor", "value": f"push-{run_id}-{n}"},
                        "queue": queue_id,
                        "join_open": False,
                    },
                )
                for _ in range(300):  # up to 15 s
                    if len(arrivals.get(n, [])) >= len(sockets):
                        break
                    await asyncio.sleep(0.05)
                got = arrivals.get(n, [])
                missing += len(sockets) - len(got)
                each.extend(got)
                if got:
                    to_last.append(max(got))
                await asyncio.sleep(0.3)
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    return {
        "supervisor_sockets": len(sockets),
        "supervisor_sockets_failed": len(failed),
        "supervisor_503_retries": len(retried_503),
        "supervisor_failures": failed[:3],
        "supervisor_open_seconds": round(open_s, 2),
        "snapshot_bytes": max(snapshot_bytes) if snapshot_bytes else None,
        "snapshot_bytes_p50": int(statistics.median(snapshot_bytes)) if snapshot_bytes else None,
        "pushes": pushes,
        "push_to_all_ms": pcts_ms(to_last),
        "push_per_socket_ms": pcts_ms(each),
        "push_missing": missing,
    }


# ---------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="bench a running server instead of starting one")
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("OMNIROUTE_ADMIN_TOKEN"),
        help="admin token of --url (default $OMNIROUTE_ADMIN_TOKEN)",
    )
    parser.add_argument("--server-pid", type=int, help="pid of the --url server, for CPU and memory")
    parser.add_argument("--config", help="config file for the server this command starts")
    parser.add_argument(
        "--workers", type=int, default=1, help="router processes of the server this command starts"
    )
    parser.add_argument("--server-log-level", default="info", help="log level of the server it starts")
    parser.add_argument("--rate", type=float, default=500.0, help="arrivals/s of the latency phase")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the latency phase")
    parser.add_argument(
        "--ramp",
        default="250,500,1000,1500,2000,3000",
        help="arrival rates of the throughput ramp, comma separated ('' to skip)",
    )
    parser.add_argument("--step-seconds", type=float, default=5.0, help="length of each ramp step")
    parser.add_argument("--max-p99-ms", type=float, default=50.0, help="ramp: p99 beyond this is a breakdown")
    parser.add_argument(
        "--max-inflight",
        type=int,
        default=None,
        help="[server] max_inflight of the server this command starts (0: never shed; default: its own)",
    )
    parser.add_argument(
        "--max-loop-lag-ms",
        type=float,
        default=None,
        help="[server] max_loop_lag_ms of the server this command starts (0: off; default: its own)",
    )
    parser.add_argument(
        "--past-break",
        type=int,
        default=2,
        help="ramp: steps run past the first one that is not sustained, to show overload",
    )
    parser.add_argument("--agents", type=int, default=150, help="simulated agents")
    parser.add_argument("--queues", type=int, default=4, help="queues the arrivals spread over")
    parser.add_argument("--handle-ms", type=float, default=50.0, help="mean handle time of an offer")
    parser.add_argument(
        "--sockets", type=int, default=2000, help="idle agent sockets (20000 for the full run)"
    )
    parser.add_argument("--supervisors", type=int, default=50, help="supervisor sockets for the push test")
    parser.add_argument("--pushes", type=int, default=5, help="queue updates timed in the push test")
    parser.add_argument("--baseline-seconds", type=float, default=4.0, help="length of each baseline")
    parser.add_argument("--concurrency", type=int, default=8, help="baseline client concurrency")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument(
        "--skip",
        default="",
        help="phases to skip, comma separated: latency, ramp, baseline, sockets",
    )
    parser.add_argument(
        "--soak-minutes",
        type=float,
        default=0.0,
        help="run a soak instead of the phases: arrivals at --rate for this many minutes, memory sampled",
    )
    parser.add_argument("--soak-interval", type=float, default=30.0, help="soak: seconds between samples")
    parser.add_argument(
        "--namespace",
        default=None,
        help="soak with --url: the server's routing namespace (its event stream); default omniroute",
    )
    parser.add_argument("--json", dest="json_path", default="bench.json", help="write results here ('' none)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument(
        "--profile",
        default=None,
        help="sample the server with py-spy during the latency phase; collapsed stacks to this file",
    )


@dataclass
class _Plan:
    latency: bool
    ramp: list[float]
    baseline: bool
    sockets: bool


def _plan(args: argparse.Namespace) -> _Plan:
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - {"latency", "ramp", "baseline", "sockets"}
    if unknown:
        raise ValueError(f"unknown phase(s) to skip: {', '.join(sorted(unknown))}")
    ramp = [float(x) for x in args.ramp.split(",") if x.strip()] if "ramp" not in skip else []
    return _Plan(
        "latency" not in skip, ramp, "baseline" not in skip, "sockets" not in skip and args.sockets > 0
    )


async def bench(
    server: ServerHandle, args: argparse.Namespace, plan: _Plan, preset: Preset | None = None
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": sys.version.split()[0],
        },
        "server": {"url": server.url, "pid": server.pid, "workers": getattr(args, "workers", 1)},
    }
    total = (args.seconds if plan.latency else 0) + len(plan.ramp) * args.step_seconds
    bar = Progress(max(total, 1), "bench", enabled=args.progress)
    timeout = aiohttp.ClientTimeout(total=60)
    # room for more requests in flight than the router admits (``[server] max_inflight``), so overload
    # reaches the server rather than queueing in this client
    connector = aiohttp.TCPConnector(limit=1024)
    async with (
        ResourceSampler(server.pid) as sampler,
        aiohttp.ClientSession(timeout=timeout, connector=connector) as session,
    ):
        api = Api(session, server.url, server.admin_token)
        results["server"]["rss_mib_start"] = round(sampler.rss_mib(), 1)
        if args.soak_minutes > 0:
            rig = LoadRig(
                api, server, queues=args.queues, agents=args.agents, handle_ms=args.handle_ms, preset=preset
            )
            await rig.setup()
            try:
                namespace = preset.namespace if preset else (args.namespace or "omniroute")
                results["soak"] = await run_soak(rig, server, sampler, args, namespace)
            finally:
                await rig.close()
            results["server"]["rss_mib_end"] = round(sampler.rss_mib(), 1)
            return results
        if plan.latency or plan.ramp:
            rig = LoadRig(
                api, server, queues=args.queues, agents=args.agents, handle_ms=args.handle_ms, preset=preset
            )
            await rig.setup()
            try:
                done = 0.0
                if plan.latency:
                    spy = await _start_profiler(args.profile, server.pid, args.seconds)
                    mark = await WorkMark.take(api, server.pid, rig.finished)
                    step = await rig.open_loop(args.rate, args.seconds, sampler, bar, done)
                    work = per_lifecycle(
                        mark, await WorkMark.take(api, server.pid, rig.finished), step.posted - step.errors
                    )
                    if args.workers > 1:
                        # each /metrics answer is one worker's counters (whichever took the connection)
                        for key in (*ROUND_TRIP_COUNTERS, "round_trips"):
                            work.pop(key, None)
                    if spy is not None:
                        await spy.wait()
                        results["profile"] = args.profile
                    done += args.seconds
                    results["latency"] = {**step.as_dict(), "per_lifecycle": work}
                steps = []
                best: StepResult | None = None
                past = -1  # steps run past the breaking point; -1 until it is reached
                for rate in plan.ramp:
                    step = await rig.open_loop(rate, args.step_seconds, sampler, bar, done)
                    done += args.step_seconds
                    verdict = _verdict(step, args.max_p99_ms)
                    steps.append({**step.as_dict(), "verdict": verdict})
                    if past >= 0 or verdict != "sustained":
                        past += 1
                        if past >= args.past_break or verdict == "errors":
                            break
                        continue
                    best = step
                if plan.ramp:
                    results["ramp"] = {
                        "steps": steps,
                        "sustained_lifecycles_per_second": round(best.lifecycles_per_second, 1)
                        if best
                        else 0,
                        "peak_lifecycles_per_second": max(s["lifecycles_per_second"] for s in steps),
                        "handle_ms": args.handle_ms,
                        "agents": args.agents,
                        "max_p99_ms": args.max_p99_ms,
                    }
            finally:
                await rig.close()
        bar.close()
        if plan.baseline:
            results["baseline"] = await baselines(args)
        if plan.sockets:
            _raise_nofile()
            sbar = Progress(args.sockets, "sockets", enabled=args.progress)
            try:
                results["sockets"] = await phase_sockets(
                    api,
                    server,
                    sampler,
                    agents=args.sockets,
                    supervisors=args.supervisors,
                    pushes=args.pushes,
                    per_process=5000,
                    progress=sbar,
                    preset=preset,
                )
            finally:
                sbar.close()
        results["server"]["rss_mib_end"] = round(sampler.rss_mib(), 1)
    _ratios(results)
    return results


async def run_soak(
    rig: LoadRig, server: ServerHandle, sampler: ResourceSampler, args: argparse.Namespace, namespace: str
) -> dict[str, Any]:
    """Arrivals at ``args.rate`` for ``args.soak_minutes`` with a sample every ``args.soak_interval`` s."""
    seconds = args.soak_minutes * 60
    loop = asyncio.get_running_loop()
    current: list[StepResult] = []

    def counts() -> tuple[int, int, int, list[float]]:
        if rig._step is not None and not current:
            current.append(rig._step)
        if not current:
            return 0, 0, 0, []
        s = current[0]
        return s.posted, s.completed, s.errors, s.latency_ms

    def show(s: soak.SoakSample) -> None:
        if args.progress is not False:
            print(
                f"soak t={s.t:.0f}s posted={s.posted} done={s.completed} err={s.errors} p99={s.p99_ms}ms"
                f" rss={s.rss_mib}MiB redis={s.redis_used_mib}MiB xlen={s.stream_length} db={s.db_mib}MiB",
                file=sys.stderr,
                flush=True,
            )

    async with soak.Probes(server.pid, args.redis_url, args.database_url, namespace) as probes:
        load = asyncio.create_task(rig.open_loop(args.rate, seconds, sampler))
        await asyncio.sleep(0)
        samples = await soak.sample_every(probes, counts, args.soak_interval, loop.time() + seconds, show)
        step = await load
    verdicts = soak.judge(samples)
    return soak.as_dict(
        samples,
        verdicts,
        minutes=args.soak_minutes,
        rate=args.rate,
        interval=args.soak_interval,
        agents=args.agents,
        handle_ms=args.handle_ms,
        load=step.as_dict(),
    )


async def _start_profiler(
    path: str | None, pid: int | None, seconds: float
) -> asyncio.subprocess.Process | None:
    """py-spy on the server for the latency phase (``pip install py-spy``); None when not asked."""
    if not path:
        return None
    if pid is None:
        raise ValueError("--profile needs the server's pid (--server-pid with --url)")
    return await asyncio.create_subprocess_exec(
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, int(seconds))),
        "--rate",
        "200",
        "--format",
        "raw",
        "-o",
        path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _verdict(step: StepResult, max_p99_ms: float) -> str:
    if step.errors > 0.01 * max(step.posted, 1):
        return "errors"
    if step.shed > 0.01 * max(step.posted, 1):
        return "sheds"
    if step.lifecycles_per_second < 0.9 * step.rate:
        return "falls behind"
    p99 = percentile(step.latency_ms, 0.99)
    if math.isnan(p99) or p99 > max_p99_ms:
        return "latency"
    return "sustained"


def _ratios(results: dict[str, Any]) -> None:
    """The headline figures as ratios to the machine's own limits."""
    ratios: dict[str, float] = {}
    base = results.get("baseline", {})
    pg = base.get("postgres", {}).get("durable_inserts_per_second")
    rd = base.get("redis", {}).get("plain_evalsha_per_second")
    ramp = results.get("ramp", {}).get("sustained_lifecycles_per_second")
    if ramp and pg:
        ratios["lifecycles_per_durable_insert"] = round(ramp / pg, 3)
    if ramp and rd:
        ratios["lifecycles_per_plain_evalsha"] = round(ramp / rd, 3)
    engine = base.get("redis", {}).get("engine_to_plain_ratio")
    if engine:
        ratios["engine_scripts_per_plain_evalsha"] = engine
    floor = round_trip_floor_ms(results)
    if floor is not None:
        ratios["round_trip_floor_ms_per_lifecycle"] = floor
        cpu = results["latency"]["per_lifecycle"]["server_cpu_ms"]
        ratios["round_trip_floor_share_of_cpu"] = round(floor / cpu, 3) if cpu else 0.0
    results["ratios"] = ratios


def format_results(r: dict[str, Any]) -> str:
    lines: list[str] = []
    m = r["machine"]
    lines.append(f"machine: {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}")
    if "soak" in r:
        lines.append(soak.format_soak(r["soak"]))

    def lat(d: dict[str, Any]) -> str:
        return f"p50 {d['p50']} p95 {d['p95']} p99 {d['p99']} max {d['max']} ms (n={d['count']})"

    if "latency" in r:
        s = r["latency"]
        lines.append(f"\ningest -> offer at {s['rate']:g}/s for {s['seconds']:.0f} s:")
        lines.append(f"  all            {lat(s['ingest_to_offer_ms'])}")
        lines.append(f"  agent was free {lat(s['ingest_to_offer_unqueued_ms'])}")
        lines.append(f"  HTTP ingest    {lat(s['ingest_http_ms'])}")
        lines.append(
            f"  lifecycles {s['lifecycles_per_second']}/s, errors {s['errors']},"
            f" queued {s['queued_at_ingest']},"
            f" server CPU {s['server_cpu_pct']}%, RSS {s['server_rss_mib_max']} MiB,"
            f" load generator CPU {s['load_generator_cpu_pct']}%"
        )
        w = s.get("per_lifecycle", {})
        if "round_trips" in w:
            lines.append(
                f"  per lifecycle ({w['lifecycles']} of {w.get('posted')} finished):"
                f" {w.get('round_trips')} round trips"
                f" ({w.get('pg_statements')} PostgreSQL statements,"
                f" {w.get('redis_commands')} Redis commands),"
                f" server CPU {w.get('server_cpu_ms')} ms"
            )
        elif "server_cpu_ms" in w:
            lines.append(
                f"  per lifecycle ({w['lifecycles']} of {w.get('posted')} finished): server CPU"
                f" {w.get('server_cpu_ms')} ms, all workers (round trips are counted with one worker only)"
            )
    if "ramp" in r:
        rp = r["ramp"]
        lines.append(f"\nthroughput ramp (handle {rp['handle_ms']:g} ms, {rp['agents']} agents):")
        lines.append(
            f"  {'rate/s':>7} {'offered/s':>9} {'admitted/s':>10} {'503':>6} {'done/s':>7} {'p50 ms':>8}"
            f" {'p99 ms':>8} {'errors':>6} {'srv CPU':>8} {'gen CPU':>8}  verdict"
        )
        for s in rp["steps"]:
            d = s["ingest_to_offer_ms"]
            lines.append(
                f"  {s['rate']:>7g} {s['offered_per_second']:>9} {s['admitted_per_second']:>10}"
                f" {s['shed_share']:>6.1%} {s['lifecycles_per_second']:>7} {d['p50']!s:>8} {d['p99']!s:>8}"
                f" {s['errors']:>6} {s['server_cpu_pct']!s:>7}% {s['load_generator_cpu_pct']!s:>7}%"
                f"  {s['verdict']}"
            )
        lines.append(
            f"  sustained: {rp['sustained_lifecycles_per_second']} full lifecycles/s;"
            f" peak {rp.get('peak_lifecycles_per_second')}/s (p50/p99: ingest -> offer of admitted work)"
        )
    if "baseline" in r:
        b = r["baseline"]
        rd, pg = b.get("redis", {}), b.get("postgres", {})
        lines.append("\nmachine baseline:")
        if "error" in rd:
            lines.append(f"  redis: {rd['error']}")
        else:
            lines.append(
                f"  plain EVALSHA ({rd['script_bytes']} B script, {rd['concurrency']} clients):"
                f" {rd['plain_evalsha_per_second']}/s"
            )
            if "plain_evalsha_redis_py_per_second" in rd:
                lines.append(f"    (through redis-py: {rd['plain_evalsha_redis_py_per_second']}/s)")
            lines.append(
                f"  engine scripts (enqueue+match, accept, complete): {rd['engine_scripts_per_second']}/s"
                f" = {rd['engine_to_plain_ratio']:.0%} of plain; {rd['engine_cycles_per_second']} cycles/s"
            )
        if "error" in pg:
            lines.append(f"  postgres: {pg['error']}")
        else:
            lines.append(
                f"  durable single-row INSERT ({pg['concurrency']} clients, synchronous_commit="
                f"{pg['synchronous_commit']}): {pg['durable_inserts_per_second']}/s"
            )
        trip = b.get("round_trip", {})
        if "error" in trip:
            lines.append(f"  round trips: {trip['error']}")
        elif trip:
            lines.append(
                f"  CPU of one bare round trip (one at a time): Redis PING {trip['redis_ping_cpu_us']} us"
                f" (through redis-py {trip['redis_py_ping_cpu_us']} us),"
                f" PostgreSQL SELECT 1 {trip['postgres_select_cpu_us']} us"
            )
            floor = r.get("ratios", {}).get("round_trip_floor_ms_per_lifecycle")
            if floor is not None:
                share = r["ratios"]["round_trip_floor_share_of_cpu"]
                lines.append(
                    f"  = {floor} ms of CPU for a lifecycle's round trips alone,"
                    f" {share:.0%} of its server CPU"
                )
    if "sockets" in r:
        s = r["sockets"]
        lines.append(
            f"\nsockets: {s['agent_sockets_open']}/{s['agent_sockets_requested']} idle agent sockets open in"
            f" {s['connect_seconds']} s; router RSS (all processes) {s['server_rss_mib_before']} -> "
            f"{s['server_rss_mib_with_sockets']} MiB = {s['server_kib_per_agent_socket']} KiB per socket"
        )
        probe = s.get("put_agent_ms_with_all_configured", {})
        if probe.get("count"):
            lines.append(
                f"  PUT /v1/agents for one more agent with these configured: p50 {probe['p50']} ms"
                f" (agents configured by {s['agents_configured_by']})"
            )
        if "push_error" in s:
            lines.append(f"  supervisor push test failed: {s['push_error']}")
        if "push_to_all_ms" in s:
            lines.append(
                f"  one queue update to {s['supervisor_sockets']} supervisor sockets: to the last one"
                f" {lat(s['push_to_all_ms'])}; missing {s['push_missing']}"
            )
            lines.append(
                f"  supervisor snapshot {s['snapshot_bytes']} bytes; sockets that failed to open:"
                f" {s['supervisor_sockets_failed']} {s['supervisor_failures'] or ''}"
                f" (503 at the upgrade, tried again: {s.get('supervisor_503_retries', 0)})"
            )
        if s.get("router_rss_mib_total_with_supervisors") is not None:
            lines.append(
                f"  all router processes ({s['router_processes']}): RSS"
                f" {s['router_rss_mib_total_with_supervisors']} MiB with every socket open"
            )
    if r.get("ratios"):
        lines.append("\nratios: " + ", ".join(f"{k} {v}" for k, v in r["ratios"].items()))
    return "\n".join(lines)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        plan = _plan(args)
    except ValueError as exc:
        print(f"omniroute bench: {exc}", file=sys.stderr)
        return 2
    _raise_nofile()
    preset: Preset | None = None
    async with contextlib.AsyncExitStack() as stack:
        if args.url:
            if not args.admin_token:
                print("omniroute bench: --url needs --admin-token", file=sys.stderr)
                return 2
            server = ServerHandle(args.url, args.admin_token, args.server_pid)
        else:
            config = args.config
            if config is None:
                idle = args.sockets if plan.sockets and not args.soak_minutes else 0
                preset = Preset.make(queues=args.queues, agents=args.agents, idle=idle)
                work = Path(tempfile.mkdtemp(prefix="omniroute-bench-"))
                config = str(work / "bench.toml")
                text = preset.toml(args.queues, args.max_inflight, args.max_loop_lag_ms)
                await asyncio.to_thread(Path(config).write_text, text)
            server = await stack.enter_async_context(
                launch_server(
                    config=config,
                    log_level=args.server_log_level,
                    startup_timeout=180 + args.sockets / 20,
                    workers=args.workers,
                )
            )
        results = await bench(server, args, plan, preset)
    out.write(format_results(results) + "\n")
    if args.json_path:
        doc = json.dumps(results, indent=2, default=str)
        await asyncio.to_thread(Path(args.json_path).write_text, doc)
        out.write(f"results: {args.json_path}\n")
    return 0
