"""``omniroute simulate``: a contact center run against the real server, measured against Erlang C/A.

One FIFO queue, ``N`` simulated agents (websocket clients that accept every offer at once and
finish after an exponential handle time, no wrap-up) and a Poisson stream of voice contacts is
an M/M/N queue; with exponential customer patience it is M/M/N+M (Erlang A). Time is
compressed: with ``--speedup 200`` a 180 s handle time lasts 0.9 s of real time, and every
measured duration is multiplied back by 200 before it is compared with the theory.

The compression magnifies the router's own latency by the same factor: 3 ms between an
agent's ``complete`` and its next ``offer`` reads as 0.6 simulated seconds of agent time lost
on every contact. So the report has four columns:

* **Erlang C/A**: the formula for the nominal scenario;
* **ideal 95 %**: where 95 % of runs of a perfect, zero-latency router with the same number
  of contacts land (a plain discrete-event simulation, replicated): sampling noise alone;
* **with latency**: the same simulation with the router's measured latencies added (the
  offer latency to every answer, the complete-to-next-offer handoff to every agent cycle);
* **measured**: what the simulated customers and agents saw.

A measured value outside the ideal band but inside the latency model's is delay the router
adds; outside both points at unfair routing (FIFO or agent order), which the report counts.

It also measures the wait estimates (:class:`EstimateAccuracy`): every contact that had to wait was
told ``estimated_wait_seconds`` in its ingest answer; the report gives the RMSE of that against the
wait that followed, beside the queue-length predictor ``(n+1)/(c mu)`` evaluated on the same contacts
and the router's former method (kept here only as that baseline). ``--wrapup`` gives the queue a
wrap-up time and ``--away-every``/``--away-for`` send agents on breaks: then the run is no longer
M/M/N and the Erlang columns are for reference only.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import heapq
import json
import math
import os
import random
import secrets
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from router.contracts import Channel
from router.service import erlang

# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Outcome:
    """One contact as its customer saw it, in simulated seconds.

    ``wait`` runs from the customer's arrival to the offer reaching the agent (who answers at
    once); it is ``None`` when the customer gave up first. ``queued`` says that no agent took it
    the moment it arrived (for the live run: the router's own answer to the ingest request).
    """

    arrived: float
    wait: float | None
    queued: bool


@dataclass(frozen=True)
class Summary:
    contacts: int
    p_wait: float
    service_level: float
    asa: float
    p_abandon: float

    @classmethod
    def of(cls, outcomes: Sequence[Outcome], sl_seconds: float) -> Summary:
        n = len(outcomes)
        if n == 0:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        answered = [o.wait for o in outcomes if o.wait is not None]
        return cls(
            contacts=n,
            p_wait=sum(1 for o in outcomes if o.queued) / n,
            service_level=sum(1 for w in answered if w <= sl_seconds) / n,
            asa=statistics.fmean(answered) if answered else math.nan,
            p_abandon=(n - len(answered)) / n,
        )


METRICS = ("p_wait", "service_level", "asa", "p_abandon")


# ---------------------------------------------------------------- reference model


def queue_path(
    arrivals: Sequence[float],
    handles: Sequence[float],
    patiences: Sequence[float],
    *,
    agents: int,
    offer_latency: float | Sequence[float] = 0.0,
    handoff: float | Sequence[float] = 0.0,
    release: float | Sequence[float] | None = None,
    seed: int = 0,
) -> list[Outcome]:
    """What a FIFO queue with ``agents`` agents does with exactly these contacts.

    Contact ``i`` arrives at ``arrivals[i]`` (sorted), needs ``handles[i]`` of an agent's time and
    leaves if not answered within ``patiences[i]`` (``math.inf``: never). The router's own
    delays, each a constant or a sample of observed values to draw from (with ``seed``):

    * ``offer_latency``: arrival to the offer reaching an agent who was free;
    * ``release``: an agent's ``complete`` to the router counting it free again (default:
      ``handoff``);
    * ``handoff``: an agent's ``complete`` to the offer of the next waiting contact reaching it.

    With all three 0 this is the textbook queue: given the same contacts, a zero-latency FIFO
    router must produce exactly these waits.
    """
    rng = random.Random(seed)

    def sampler(x: float | Sequence[float]) -> Callable[[], float]:
        if isinstance(x, int | float):
            value = float(x)
            return lambda: value
        values = list(x) or [0.0]
        return lambda: rng.choice(values)

    latency, next_offer = sampler(offer_latency), sampler(handoff)
    freed = sampler(handoff if release is None else release)
    free = agents
    # heap of (time the router counts the agent free again, time it finished handling)
    busy: list[tuple[float, float]] = []
    waiting: deque[tuple[int, float, float]] = deque()  # (index, arrival, give-up time)
    n_total = len(arrivals)
    waits: list[float | None] = [None] * n_total
    queued = [False] * n_total

    def start(idx: int, at: float) -> None:
        done = at + handles[idx]
        heapq.heappush(busy, (done + freed(), done))

    n = 0
    while n < n_total or busy:
        if n < n_total and (not busy or arrivals[n] <= busy[0][0]):
            now = arrivals[n]
            if free > 0:
                free -= 1
                lat = latency()
                waits[n] = lat
                start(n, now + lat)
            else:
                queued[n] = True
                waiting.append((n, now, now + patiences[n]))
            n += 1
            continue
        now, done = heapq.heappop(busy)
        free += 1
        while waiting and free > 0:
            idx, arrived, give_up = waiting.popleft()
            offered = max(now, done + next_offer())
            if give_up < offered:
                continue  # the customer left before an offer reached an agent
            free -= 1
            waits[idx] = offered - arrived
            start(idx, offered)
    return [Outcome(arrivals[i], waits[i], queued[i]) for i in range(n_total)]


def reference_run(
    *,
    agents: int,
    load: float,
    aht: float,
    patience: float | None,
    contacts: int,
    seed: int,
    offer_latency: float = 0.0,
    handoff: float = 0.0,
) -> list[Outcome]:
    """A discrete-event simulation of the M/M/N(+M) queue the live run should be (see
    :func:`queue_path`), on fresh Poisson arrivals and exponential handle times and patience."""
    rng = random.Random(seed)
    lam = load / aht
    arrivals: list[float] = []
    t = 0.0
    for _ in range(contacts):
        t += rng.expovariate(lam)
        arrivals.append(t)
    handles = [rng.expovariate(1.0 / aht) for _ in range(contacts)]
    patiences = [rng.expovariate(1.0 / patience) if patience else math.inf for _ in range(contacts)]
    return queue_path(
        arrivals,
        handles,
        patiences,
        agents=agents,
        offer_latency=offer_latency,
        handoff=handoff,
        seed=seed,
    )


@dataclass(frozen=True)
class Band:
    mean: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]

    def contains(self, metric: str, value: float) -> bool:
        return self.low[metric] <= value <= self.high[metric]


def reference_band(
    *,
    agents: int,
    load: float,
    aht: float,
    patience: float | None,
    contacts: int,
    warmup: int,
    sl_seconds: float,
    replications: int,
    seed: int,
    offer_latency: float = 0.0,
    handoff: float = 0.0,
) -> Band:
    """Mean and central 95 % of each metric over independent runs of the reference model."""
    samples: dict[str, list[float]] = {m: [] for m in METRICS}
    for r in range(replications):
        outcomes = reference_run(
            agents=agents,
            load=load,
            aht=aht,
            patience=patience,
            contacts=warmup + contacts,
            seed=seed * 100_003 + r,
            offer_latency=offer_latency,
            handoff=handoff,
        )
        s = Summary.of(outcomes[warmup:], sl_seconds)
        for m in METRICS:
            v = getattr(s, m)
            if not math.isnan(v):
                samples[m].append(v)
    mean, low, high = {}, {}, {}
    for m, xs in samples.items():
        xs.sort()
        if not xs:
            mean[m] = low[m] = high[m] = math.nan
            continue
        mean[m] = statistics.fmean(xs)
        low[m] = xs[int(0.025 * (len(xs) - 1))]
        high[m] = xs[math.ceil(0.975 * (len(xs) - 1))]
    return Band(mean, low, high)


# ---------------------------------------------------------------- talking to a server


@dataclass
class ServerHandle:
    """A running router: its base URL, an admin token and, when known, the server's pid."""

    url: str
    admin_token: str
    pid: int | None = None
    log_path: Path | None = None


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python process that must import this package as we do."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def launch_server(
    *,
    config: str | None = None,
    log_level: str = "info",
    startup_timeout: float = 180.0,
    log_dir: Path | None = None,
    workers: int = 1,
) -> AsyncIterator[ServerHandle]:
    """Start ``omniroute serve`` as a child process on a free port and stop it afterwards.

    ``DATABASE_URL`` and ``REDIS_URL`` pass through from the environment (without them the
    server starts its embedded databases, which takes longer). Without ``config`` the server
    gets an empty configuration in a routing namespace of its own, so the run neither sees nor
    disturbs the live index of another router sharing the same Redis. ``workers`` > 1 starts
    ``serve --workers N`` (the pid is the parent's; the workers are its children).
    """
    port = _free_port()
    token = secrets.token_urlsafe(24)
    env = child_env(OMNIROUTE_ADMIN_TOKEN=token)
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="omniroute-load-"))
    if config is None:
        cfg = log_dir / "load.toml"
        cfg.write_text(f'[routing]\nnamespace = "load-{uuid.uuid4().hex[:10]}"\n')
        config = str(cfg)
    cmd = [sys.executable, "-m", "router", "--log-level", log_level, "serve"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--config", config]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    log_path = log_dir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *cmd, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(url, proc, startup_timeout, log_path)
        yield ServerHandle(url, token, proc.pid, log_path)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _wait_healthy(url: str, proc: asyncio.subprocess.Process, within: float, log_path: Path) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                tail = (await asyncio.to_thread(log_path.read_bytes))[-2000:].decode(errors="replace")
                raise RuntimeError(f"omniroute serve exited with {proc.returncode}:\n{tail}")
            # a worker of --workers N takes connections only once started: until then the request
            # waits in the shared socket's queue, so each try is short
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url + "/healthz", timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"omniroute serve did not become healthy within {within:.0f} s")


class Api:
    """The few admin and ingest calls the load generators make, on one shared session."""

    def __init__(self, session: aiohttp.ClientSession, url: str, admin_token: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {admin_token}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(method, self.url + path, json=body, headers=self._auth) as resp:
            data = await resp.json(content_type=None) if resp.content_length != 0 else None
            return resp.status, data

    async def text(self, method: str, path: str) -> tuple[int, str]:
        async with self.session.request(method, self.url + path, headers=self._auth) as resp:
            return resp.status, await resp.text()

    async def must(self, method: str, path: str, body: Any = None) -> Any:
        status, data = await self.call(method, path, body)
        if status >= 400:
            raise RuntimeError(f"{method} {path} -> {status}: {data}")
        return data

    async def token(self, role: str, agent_id: str | None = None) -> str:
        body: dict[str, Any] = {"role": role}
        if agent_id is not None:
            body["agent_id"] = agent_id
        data = await self.must("POST", "/v1/tokens", body)
        return str(data["token"])

    async def setup_queue(
        self,
        queue_id: str,
        skill: str,
        *,
        sl_seconds: float,
        offer_timeout: float = 600.0,
        wrapup_seconds: float = 0.0,
    ) -> None:
        await self.must(
            "PUT",
            f"/v1/queues/{queue_id}",
            {
                "name": queue_id,
                "skills": {skill: 1},
                "channels": ["voice"],
                "offer_timeout_seconds": offer_timeout,
                "wrapup_seconds": wrapup_seconds,
                "service_level_seconds": max(sl_seconds, 0.001),
            },
        )

    async def setup_agent(self, agent_id: str, skill: str) -> str:
        await self.must(
            "PUT",
            f"/v1/agents/{agent_id}",
            {
                "name": agent_id,
                "skills": {skill: 1},
                "capacity": {ch.value: int(ch is Channel.voice) for ch in Channel},
            },
        )
        return await self.token("agent", agent_id)


def voice_contact(run_id: str, n: int, queue_id: str) -> dict[str, Any]:
    """A new caller (its own phone number, so a new customer) for ``queue_id``."""
    digits = int(run_id[:6], 16) % 1_000_000
    return {
        "channel": "voice",
        "external_id": f"{run_id}-{n}",
        "from": {"kind": "phone", "value": f"+1{digits:06d}{n:07d}"},
        "queue": queue_id,
    }


class SimAgent:
    """A simulated agent desktop: accepts every offer at once, completes after a handle time.

    The handle time starts when the offer arrives (the accept is sent in the same instant);
    ``complete`` is sent once it has run out and the ``assigned`` frame has come back.
    Callbacks receive ``loop.time()`` stamps.
    """

    def __init__(
        self,
        agent_id: str,
        token: str,
        handle_time: Callable[[], float],
        *,
        on_offer: Callable[[SimAgent, str, float], None] | None = None,
        on_done: Callable[[SimAgent, str, float], None] | None = None,
        on_complete: Callable[[SimAgent, str, float], None] | None = None,
    ) -> None:
        self.agent_id = agent_id
        self.token = token
        self.handle_time = handle_time
        self.on_offer = on_offer
        self.on_done = on_done
        self.on_complete = on_complete
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.handled = 0
        self.revoked = 0
        self.errors: list[dict[str, Any]] = []
        self.last_complete: float | None = None
        self.last_handle: float | None = None
        self.offer_interaction: dict[str, Any] = {}
        """The interaction of the offer being taken, while ``handle_time`` is drawn for it."""
        self.away = False
        self._assigned: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._done: set[str] = set()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, session: aiohttp.ClientSession, url: str, *, available: bool = True) -> None:
        ws_url = url.replace("http", "ws", 1) + f"/v1/agents/{self.agent_id}/socket?token={self.token}"
        self.ws = await session.ws_connect(ws_url, max_msg_size=0, autoping=True)
        hello = await self.ws.receive_json(timeout=30)
        if hello.get("type") != "hello":
            raise RuntimeError(f"expected hello, got {hello}")
        self._reader = asyncio.create_task(self._read(), name=f"agent-{self.agent_id}")
        if available:
            await self.ws.send_json({"type": "set_state", "state": "available", "ref": "go"})

    async def take_breaks(self, every: Callable[[], float], length: Callable[[], float]) -> None:
        """Go away (reason ``break``) after ``every()`` seconds for ``length()`` seconds, over and over;
        work in hand is finished as usual, no new work is offered meanwhile."""
        while self.ws is not None and not self.ws.closed:
            await asyncio.sleep(every())
            self.away = True
            await self.ws.send_json({"type": "set_state", "state": "away", "reason": "break"})
            await asyncio.sleep(length())
            await self.ws.send_json({"type": "set_state", "state": "available"})
            self.away = False

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def _read(self) -> None:
        assert self.ws is not None
        loop = asyncio.get_running_loop()
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            now = loop.time()
            frame = json.loads(msg.data)
            kind = frame.get("type")
            if kind == "offer":
                iid = frame["interaction"]["id"]
                await self.ws.send_json({"type": "accept", "offer_id": frame["offer_id"], "ref": iid})
                self._assigned[iid] = asyncio.Event()
                self.offer_interaction = frame["interaction"]
                self.last_handle = self.handle_time()
                self._tasks[iid] = asyncio.create_task(self._work(iid, self.last_handle))
                if self.on_offer:
                    self.on_offer(self, iid, now)
            elif kind == "assigned":
                event = self._assigned.get(frame["interaction"]["id"])
                if event is not None:
                    event.set()
            elif kind == "offer_revoked":
                self.revoked += 1
                self._drop(frame["interaction_id"])
            elif kind == "interaction_ended":
                if not frame.get("wrapup_until"):
                    self._finish(frame["interaction_id"], now)
            elif kind == "wrapup_ended":
                self._finish(frame["interaction_id"], now)
            elif kind == "error":
                ref = frame.get("ref")
                if ref in self._tasks:  # the accept failed: the customer left first
                    self.revoked += 1
                    self._drop(ref)
                else:
                    self.errors.append(frame)

    def _drop(self, iid: str) -> None:
        task = self._tasks.pop(iid, None)
        if task is not None:
            task.cancel()
        self._assigned.pop(iid, None)

    def _finish(self, iid: str, now: float) -> None:
        if iid in self._done:
            return
        self._done.add(iid)
        if len(self._done) > 10_000:
            self._done.clear()
        self._tasks.pop(iid, None)
        self._assigned.pop(iid, None)
        self.handled += 1
        if self.on_done:
            self.on_done(self, iid, now)

    async def _work(self, iid: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        event = self._assigned.get(iid)
        if event is None or self.ws is None:
            return
        await event.wait()
        now = asyncio.get_running_loop().time()
        self.last_complete = now
        if self.on_complete:
            self.on_complete(self, iid, now)
        await self.ws.send_json({"type": "complete", "interaction_id": iid, "disposition": "resolved"})


class Progress:
    """A one-line progress bar on stderr (only on a terminal unless forced)."""

    def __init__(self, total: float, label: str, *, enabled: bool | None = None) -> None:
        self.total = max(total, 1e-9)
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._last = 0.0

    def update(self, done: float, extra: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and done < self.total:
            return
        self._last = now
        frac = min(1.0, done / self.total)
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {frac:5.1%} {extra}   ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def percentile(xs: Sequence[float], q: float) -> float:
    if not xs:
        return math.nan
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# ---------------------------------------------------------------- the live scenario


@dataclass
class Scenario:
    agents: int = 25
    aht: float = 180.0
    load: float = 22.0
    patience: float | None = None
    sl_seconds: float = 20.0
    contacts: int = 3000
    warmup: int = 300
    speedup: float = 200.0
    seed: int = 1
    wrapup: float = 0.0
    """The queue's wrap-up time, simulated seconds (0: M/M/N)."""
    away_every: float | None = None
    """Mean simulated seconds between an agent's breaks (None: never away)."""
    away_for: float = 0.0
    """Mean length of a break, simulated seconds."""

    @property
    def utilization(self) -> float:
        return self.load / self.agents

    @property
    def is_mmn(self) -> bool:
        """No wrap-up and no breaks: the M/M/N(+M) queue Erlang C/A describe."""
        return self.wrapup == 0 and self.away_every is None

    @property
    def arrivals_per_second_real(self) -> float:
        return self.load / self.aht * self.speedup


@dataclass
class _Contact:
    index: int
    posted: float
    interaction_id: str | None = None
    queued: bool | None = None
    ingest_ms: float | None = None
    offered: float | None = None
    agent: str | None = None
    agent_last_complete: float | None = None
    handle: float | None = None
    completed: float | None = None
    released: float | None = None
    patience: float = math.inf
    abandoned: bool = False
    failed: str | None = None
    # what the ingest answer said, in simulated seconds, and the other predictors at the same moment
    position: int | None = None
    estimate: float | None = None
    estimate_range: tuple[float, float] | None = None
    present: int = 0
    predictor: float | None = None
    old_estimate: float | None = None


@dataclass(frozen=True)
class EstimateAccuracy:
    """The wait told at arrival against the wait that followed, over the contacts that had to wait
    (queued, answered, after warm-up), in simulated seconds.

    * ``router``: the ingest answer's ``estimated_wait_seconds``;
    * ``predictor``: the queue-length predictor ``(n + 1) / (c mu)`` with known rates (``c`` the agents
      present at the arrival, ``1 / mu`` the run's mean time a contact held an agent: talk, wrap-up and
      the router's handoff, known only afterwards), the minimum-error estimator for M/M/c (Ibrahim &
      Whitt 2009);
    * ``old``: the router's method before wait estimates were reworked, for comparison only: the
      position times a moving average of talk time (wrap-up left out) over every connected agent
      (away ones included).
    """

    contacts: int
    rmse_router: float
    rmse_predictor: float
    rmse_old: float
    mean_wait: float
    range_coverage: float
    """Share of the waits inside the told 10th-90th percentile range (80 % if it is right)."""
    unknown: int
    """Contacts told no estimate (nobody who could serve them was present)."""
    bias_router: float = math.nan
    """Mean of (told - waited) of the router's estimate: near 0 when it is unbiased."""
    bias_predictor: float = math.nan
    """The same of the predictor. On a slow machine the router's handoffs, multiplied by the time
    compression, lengthen the simulated handle time unevenly, and every estimator is off the same way."""
    bias_old: float = math.nan
    """The same of the old method: below 0 when it tells too short a wait (it leaves wrap-up out). In a
    short run the RMSEs follow the luck of the breaks; a bias this large does not."""

    @property
    def ratio(self) -> float:
        return self.rmse_router / self.rmse_predictor if self.rmse_predictor else math.nan

    @property
    def old_ratio(self) -> float:
        return self.rmse_old / self.rmse_router if self.rmse_router else math.nan


OLD_AHT_WEIGHT = 0.1  # the moving-average weight of talk times the old method used


def estimate_accuracy(contacts: Sequence[_Contact], waits: Sequence[float | None]) -> EstimateAccuracy:
    """RMSE of each predictor over the contacts that waited and were answered (``waits`` by contact,
    simulated seconds, None when abandoned)."""
    rows = [
        (c, w)
        for c, w in zip(contacts, waits, strict=True)
        if w is not None and c.position and c.predictor is not None and c.old_estimate is not None
    ]
    told = [(c, w) for c, w in rows if c.estimate is not None]
    unknown = len(rows) - len(told)

    def rmse(pairs: Sequence[tuple[float, float]]) -> float:
        return math.sqrt(statistics.fmean((e - w) ** 2 for e, w in pairs)) if pairs else math.nan

    def bias(pairs: Sequence[tuple[float, float]]) -> float:
        return statistics.fmean(e - w for e, w in pairs) if pairs else math.nan

    router = [(c.estimate or 0.0, w) for c, w in told]
    predictor = [(c.predictor or 0.0, w) for c, w in told]
    old = [(c.old_estimate or 0.0, w) for c, w in told]
    inside = sum(
        1 for c, w in told if c.estimate_range is not None and c.estimate_range[0] <= w <= c.estimate_range[1]
    )
    return EstimateAccuracy(
        contacts=len(told),
        rmse_router=rmse(router),
        rmse_predictor=rmse(predictor),
        rmse_old=rmse(old),
        mean_wait=statistics.fmean(w for _, w in told) if told else math.nan,
        range_coverage=inside / len(told) if told else math.nan,
        unknown=unknown,
        bias_router=bias(router),
        bias_predictor=bias(predictor),
        bias_old=bias(old),
    )


@dataclass
class LiveResult:
    scenario: Scenario
    outcomes: list[Outcome]
    offer_latency_ms: list[float]
    handoff_ms: list[float]
    ingest_ms: list[float]
    fifo_inversions: int
    queued_contacts: int
    per_agent: list[int]
    failures: list[str]
    agent_errors: int
    loop_lag_ms: float
    wall_seconds: float
    fifo_inversions_wide: int = 0
    lost: int = 0
    revoked_offers: int = 0
    # the contacts as they happened, in simulated seconds, for replaying them through the model
    arrivals: list[float] = field(default_factory=list)
    handles: list[float] = field(default_factory=list)
    patiences: list[float] = field(default_factory=list)
    actual_handles: list[float] = field(default_factory=list)
    release_ms: list[float] = field(default_factory=list)
    estimates: EstimateAccuracy | None = None


async def run_live(server: ServerHandle, sc: Scenario, *, progress: Progress | None = None) -> LiveResult:
    """Drive ``sc`` against ``server`` and collect what customers and agents saw."""
    rng = random.Random(sc.seed)
    run_id = uuid.uuid4().hex[:12]
    queue_id = f"sim-{run_id}"
    skill = f"sim_{run_id}"
    scale = 1.0 / sc.speedup  # real seconds per simulated second
    loop = asyncio.get_running_loop()
    contacts: list[_Contact] = []
    by_iid: dict[str, _Contact] = {}
    early_offers: dict[str, tuple[SimAgent, float, float | None, float | None]] = {}

    def on_offer(agent: SimAgent, iid: str, now: float) -> None:
        c = by_iid.get(iid)
        if c is None:  # the offer beat the ingest answer
            early_offers[iid] = (agent, now, agent.last_complete, agent.last_handle)
            return
        _note_offer(c, agent, now, agent.last_complete, agent.last_handle)

    talk: list[float] = []  # the old method's moving average of talk time (simulated seconds)

    def on_complete(agent: SimAgent, iid: str, now: float) -> None:
        c = by_iid.get(iid)
        if c is not None:
            c.completed = now
            if c.offered is not None:
                seconds = (now - c.offered) * sc.speedup
                talk[:] = [seconds if not talk else (1 - OLD_AHT_WEIGHT) * talk[0] + OLD_AHT_WEIGHT * seconds]

    def on_done(agent: SimAgent, iid: str, now: float) -> None:
        c = by_iid.get(iid)
        if c is not None:
            c.released = now

    def _note_offer(
        c: _Contact, agent: SimAgent, now: float, last_complete: float | None, handle: float | None
    ) -> None:
        if c.offered is None:
            c.offered, c.agent, c.agent_last_complete = now, agent.agent_id, last_complete
            c.handle = handle

    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        api = Api(session, server.url, server.admin_token)
        await api.setup_queue(
            queue_id, skill, sl_seconds=sc.sl_seconds * scale, wrapup_seconds=sc.wrapup * scale
        )
        agents: list[SimAgent] = []
        for k in range(sc.agents):
            aid = f"{queue_id}-a{k:03d}"
            token = await api.setup_agent(aid, skill)
            agents.append(
                SimAgent(
                    aid,
                    token,
                    lambda: rng.expovariate(1.0 / (sc.aht * scale)),
                    on_offer=on_offer,
                    on_complete=on_complete,
                    on_done=on_done,
                )
            )
        await asyncio.gather(*(a.connect(session, server.url) for a in agents))
        await asyncio.sleep(0.5)  # let every set_state land
        breaks: list[asyncio.Task[None]] = []
        if sc.away_every is not None:
            every, length = sc.away_every * scale, sc.away_for * scale
            for a in agents:
                breaks.append(
                    asyncio.create_task(
                        a.take_breaks(lambda: rng.expovariate(1 / every), lambda: rng.expovariate(1 / length))
                    )
                )

        pending: set[asyncio.Task[None]] = set()

        async def post(c: _Contact) -> None:
            body = voice_contact(run_id, c.index, queue_id)
            present = sum(1 for a in agents if not a.away)
            old_aht = talk[0] if talk else sc.aht
            try:
                status, data = await api.call("POST", "/v1/interactions", body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                c.failed = f"ingest: {exc!r}"
                return
            c.ingest_ms = (loop.time() - c.posted) * 1000
            if status >= 300:
                c.failed = f"ingest {status}: {data}"
                return
            iid = str(data["id"])
            c.interaction_id = iid
            c.queued = bool(data.get("position"))
            c.position = data.get("position")
            if c.position:
                ewt, rng_ = data.get("estimated_wait_seconds"), data.get("estimated_wait_range")
                c.estimate = None if ewt is None else float(ewt) * sc.speedup
                if rng_:
                    c.estimate_range = (float(rng_[0]) * sc.speedup, float(rng_[1]) * sc.speedup)
                c.present = present
                c.old_estimate = c.position * old_aht / sc.agents
            by_iid[iid] = c
            early = early_offers.pop(iid, None)
            if early is not None:
                _note_offer(c, *early)
            if sc.patience is not None and c.offered is None:
                delay = c.posted + c.patience - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if c.offered is None:
                    await abandon(c)

        async def abandon(c: _Contact) -> None:
            try:
                status, data = await api.call(
                    "POST", f"/v1/interactions/{c.interaction_id}/end", {"reason": "customer_left"}
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                c.failed = f"end: {exc!r}"
                return
            if status < 300 and isinstance(data, dict) and data.get("status") == "abandoned":
                c.abandoned = True
            elif status >= 400 and status != 409:
                c.failed = f"end {status}: {data}"

        total = sc.warmup + sc.contacts
        lam_real = sc.arrivals_per_second_real
        lag: list[float] = []
        start = loop.time()
        due = start
        for n in range(total):
            due += rng.expovariate(lam_real)
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            lag.append(now - due)
            c = _Contact(n, now)
            if sc.patience is not None:
                c.patience = rng.expovariate(1.0 / (sc.patience * scale))
            contacts.append(c)
            task = asyncio.create_task(post(c))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if progress is not None:
                progress.update(n + 1, f"{n + 1}/{total} contacts")
        # let the queue drain: every contact answered or abandoned
        drain_deadline = loop.time() + 60 + 20 * sc.aht * scale
        while loop.time() < drain_deadline:
            open_ = [c for c in contacts if c.offered is None and not c.abandoned and c.failed is None]
            if not open_ and not pending and not any(a.busy for a in agents):
                break
            await asyncio.sleep(0.05)
        wall = loop.time() - start
        for task in breaks:
            task.cancel()
        await asyncio.gather(*breaks, return_exceptions=True)
        for a in agents:
            await a.close()
        lost = 0
        for c in contacts:
            if c.offered is None and not c.abandoned and c.failed is None:
                c.failed = f"never offered (interaction {c.interaction_id})"
                lost += 1

    result = _collect(sc, contacts, agents, lag, wall)
    result.lost = lost
    return result


def _collect(
    sc: Scenario, contacts: list[_Contact], agents: list[SimAgent], lag: list[float], wall: float
) -> LiveResult:
    outcomes: list[Outcome] = []
    offer_ms: list[float] = []
    handoff_ms: list[float] = []
    per_agent: dict[str, int] = {a.agent_id: 0 for a in agents}
    failures = [f"#{c.index}: {c.failed}" for c in contacts if c.failed]
    kept = [c for c in contacts if not c.failed]
    t0 = kept[0].posted if kept else 0.0
    fill = random.Random(sc.seed + 1)
    arrivals: list[float] = []
    handles: list[float] = []
    patiences: list[float] = []
    actual: list[float] = []
    for c in kept:
        arrived = (c.posted - t0) * sc.speedup
        arrivals.append(arrived)
        patiences.append(c.patience * sc.speedup)
        # a contact that left unanswered never drew a handle time: draw one for the replay
        handles.append(c.handle * sc.speedup if c.handle is not None else fill.expovariate(1.0 / sc.aht))
        # what the agent really spent, offer to complete (timers of a busy client fire late)
        if c.completed is not None and c.offered is not None:
            actual.append((c.completed - c.offered) * sc.speedup)
        else:
            actual.append(handles[-1])
        if c.abandoned or c.offered is None:
            outcomes.append(Outcome(arrived, None, True))
            continue
        wait_real = c.offered - c.posted
        outcomes.append(Outcome(arrived, wait_real * sc.speedup, bool(c.queued)))
        per_agent[c.agent or ""] = per_agent.get(c.agent or "", 0) + 1
        if not c.queued:
            offer_ms.append(wait_real * 1000)
        elif c.agent_last_complete is not None and c.agent_last_complete > c.posted:
            # the contact was waiting when this agent finished its previous one
            handoff_ms.append((c.offered - c.agent_last_complete) * 1000)
    ingest = [c.ingest_ms for c in contacts if c.ingest_ms is not None]
    queued = [c for c in kept if c.queued and c.offered is not None and not c.abandoned]
    # the predictor's known rate: the mean time a contact held an agent in this run (offer to the
    # agent free again: talk, wrap-up and the router's own handoff), so it is told the truth
    holds = [(c.released - c.offered) * sc.speedup for c in kept if c.released is not None and c.offered]
    hold = statistics.fmean(holds) if holds else sc.aht + sc.wrapup
    for c in kept:
        if c.position and c.present:
            c.predictor = c.position * hold / c.present
    warm = min(sc.warmup, len(kept))
    accuracy = estimate_accuracy(kept[warm:], [o.wait for o in outcomes[warm:]])
    return LiveResult(
        scenario=sc,
        outcomes=outcomes,
        offer_latency_ms=offer_ms,
        handoff_ms=handoff_ms,
        ingest_ms=ingest,
        fifo_inversions=_inversions(queued, 0.0),
        fifo_inversions_wide=_inversions(queued, percentile(ingest, 0.99) / 1000 if ingest else 0.0),
        queued_contacts=len(queued),
        per_agent=sorted(per_agent.values()),
        failures=failures,
        agent_errors=sum(len(a.errors) for a in agents),
        revoked_offers=sum(a.revoked for a in agents),
        loop_lag_ms=percentile(lag, 0.99) * 1000,
        wall_seconds=wall,
        arrivals=arrivals,
        handles=handles,
        patiences=patiences,
        actual_handles=actual,
        release_ms=[
            (c.released - c.completed) * 1000
            for c in kept
            if c.released is not None and c.completed is not None
        ],
        estimates=accuracy,
    )


def _inversions(queued: list[_Contact], slack: float) -> int:
    """Queued contacts offered before some contact that arrived more than ``slack`` seconds
    earlier was (FIFO says the earlier one goes first)."""
    count = 0
    latest: list[float] = []  # offer times of earlier arrivals, as a sorted list
    pending: deque[_Contact] = deque()
    for c in sorted(queued, key=lambda c: c.posted):
        while pending and pending[0].posted < c.posted - slack:
            p = pending.popleft()
            assert p.offered is not None
            bisect.insort(latest, p.offered)
        assert c.offered is not None
        if latest and latest[-1] > c.offered:
            count += 1
        pending.append(c)
    return count


# ---------------------------------------------------------------- comparison and report


# how far the measured figures may stray from the replay with latency before it counts as unexplained
# (P(wait) is the most sensitive: whether an agent counts as free at an arrival depends on when
# the router processed its last ``complete``, which the client sees only as a round trip)
REPLAY_TOLERANCE = {"p_wait": 0.06, "service_level": 0.04, "asa": 0.15, "p_abandon": 0.03}


@dataclass
class Comparison:
    """The live run next to the theory, the noise band and two replays of its own contacts.

    ``replay`` runs the very arrivals, handle times and patience of the live run through a
    zero-latency FIFO queue: a perfect router would have produced exactly these figures, so
    ``measured - replay`` is the router's doing, free of sampling noise. ``replay_latency`` runs
    them again with the handle times the agents really took and the router's latencies drawn
    from those measured in the run; if it matches the measurement, delay explains the gap; if
    not, something else does (routing order, lost or late offers, over-assignment).
    """

    scenario: Scenario
    theory: erlang.QueueMetrics
    measured: Summary
    ideal: Band
    replay: Summary
    replay_latency: Summary
    live: LiveResult
    offer_latency_s: float
    handoff_s: float

    def theory_value(self, metric: str) -> float:
        return float(getattr(self.theory, metric))

    @property
    def effective_utilization(self) -> float:
        """The agents' utilization once the router's handoff is added to every handle time."""
        sc = self.scenario
        return sc.load * (sc.aht + self.handoff_s) / sc.aht / sc.agents

    def verdicts(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.scenario.is_mmn:
            return {m: "not an M/M/N run (wrap-up or breaks): theory for reference only" for m in METRICS}
        for m in METRICS:
            v = getattr(self.measured, m)
            noise = "within noise of theory" if self.ideal.contains(m, v) else "OUTSIDE noise band"
            lat = getattr(self.replay_latency, m)
            tol = REPLAY_TOLERANCE[m] * (max(lat, 1.0) if m == "asa" else 1.0)
            explained = "latency explains" if abs(v - lat) <= tol else "NOT explained by latency"
            out[m] = f"{noise}; {explained}"
        return out

    def agrees(self) -> bool:
        return all("OUTSIDE" not in v and "NOT " not in v for v in self.verdicts().values())

    def as_dict(self) -> dict[str, Any]:
        lr = self.live
        return {
            "scenario": asdict(self.scenario),
            "theory": self.theory.as_dict(),
            "measured": asdict(self.measured),
            "ideal_band": asdict(self.ideal),
            "replay_zero_latency": asdict(self.replay),
            "replay_with_latency": asdict(self.replay_latency),
            "verdicts": self.verdicts(),
            "wait_estimates": (
                {
                    **asdict(self.live.estimates),
                    "ratio_to_predictor": self.live.estimates.ratio,
                    "old_to_router": self.live.estimates.old_ratio,
                }
                if self.live.estimates
                else None
            ),
            "router": {
                "offer_latency_ms": _pcts(lr.offer_latency_ms),
                "handoff_ms": _pcts(lr.handoff_ms),
                "ingest_ms": _pcts(lr.ingest_ms),
                "offer_latency_simulated_s": self.offer_latency_s,
                "handoff_simulated_s": self.handoff_s,
                "fifo_inversions": lr.fifo_inversions,
                "fifo_inversions_beyond_ingest_p99": lr.fifo_inversions_wide,
                "queued_contacts": lr.queued_contacts,
                "contacts_per_agent_min_max": [lr.per_agent[0], lr.per_agent[-1]] if lr.per_agent else None,
                "lost": lr.lost,
                "offers_revoked_customer_left": lr.revoked_offers,
                "failures": lr.failures[:20],
                "failure_count": len(lr.failures),
                "agent_errors": lr.agent_errors,
                "client_loop_lag_p99_ms": lr.loop_lag_ms,
                "wall_seconds": lr.wall_seconds,
            },
        }


def _pcts(xs: Sequence[float]) -> dict[str, float | int]:
    return {
        "count": len(xs),
        "p50": percentile(xs, 0.5),
        "p95": percentile(xs, 0.95),
        "p99": percentile(xs, 0.99),
        "max": max(xs) if xs else math.nan,
        "mean": statistics.fmean(xs) if xs else math.nan,
    }


def compare(live: LiveResult, *, replications: int = 200) -> Comparison:
    sc = live.scenario
    theory = erlang.metrics(sc.agents, sc.load, sc.aht, sc.sl_seconds, sc.patience)
    measured = Summary.of(live.outcomes[sc.warmup :], sc.sl_seconds)
    ideal = reference_band(
        agents=sc.agents,
        load=sc.load,
        aht=sc.aht,
        patience=sc.patience,
        contacts=len(live.outcomes) - sc.warmup,
        warmup=sc.warmup,
        sl_seconds=sc.sl_seconds,
        replications=replications,
        seed=sc.seed,
    )
    offer_s = statistics.fmean(live.offer_latency_ms) / 1000 * sc.speedup if live.offer_latency_ms else 0.0
    handoff_s = statistics.fmean(live.handoff_ms) / 1000 * sc.speedup if live.handoff_ms else offer_s

    ideal_path = queue_path(live.arrivals, live.handles, live.patiences, agents=sc.agents)
    to_sim = sc.speedup / 1000
    observed = queue_path(
        live.arrivals,
        live.actual_handles,
        live.patiences,
        agents=sc.agents,
        offer_latency=[x * to_sim for x in live.offer_latency_ms],
        handoff=[x * to_sim for x in live.handoff_ms] or [offer_s],
        release=[x * to_sim for x in live.release_ms] or [0.0],
        seed=sc.seed,
    )
    return Comparison(
        sc,
        theory,
        measured,
        ideal,
        Summary.of(ideal_path[sc.warmup :], sc.sl_seconds),
        Summary.of(observed[sc.warmup :], sc.sl_seconds),
        live,
        offer_s,
        handoff_s,
    )


def _fmt(metric: str, v: float) -> str:
    if math.isnan(v):
        return "-"
    if metric == "asa":
        return f"{v:.2f} s"
    return f"{v:.2%}"


def format_report(cmp: Comparison) -> str:
    sc, lr = cmp.scenario, cmp.live
    model = f"Erlang A {sc.patience:g}s" if sc.patience else "Erlang C"
    effective = cmp.effective_utilization
    lines = [
        f"scenario: {sc.agents} agents, {sc.load:.2f} Erlangs (utilization {sc.utilization:.3f}), "
        f"AHT {sc.aht:g} s, {len(lr.outcomes) - sc.warmup} contacts after {sc.warmup} warm-up, "
        f"speedup x{sc.speedup:g} (AHT {sc.aht / sc.speedup * 1000:.0f} ms real), "
        f"{lr.wall_seconds:.1f} s wall",
        "router latency (real ms): ingest->offer to a free agent "
        f"p50 {percentile(lr.offer_latency_ms, 0.5):.2f} p99 {percentile(lr.offer_latency_ms, 0.99):.2f}; "
        f"agent complete->next offer p50 {percentile(lr.handoff_ms, 0.5):.2f} "
        f"p99 {percentile(lr.handoff_ms, 0.99):.2f}",
        f"  = {cmp.offer_latency_s:.2f} s added to each answer and {cmp.handoff_s:.2f} s to each agent "
        f"cycle in simulated time (utilization {effective:.3f} effective)",
        "",
        f"{'':<12}{model:>14}{'noise 95%':>22}{'replay ideal':>14}{'+ latency':>12}{'measured':>12}",
    ]
    names = {
        "p_wait": "P(wait)",
        "service_level": f"SL {sc.sl_seconds:g} s",
        "asa": "ASA",
        "p_abandon": "abandoned",
    }
    verdicts = cmp.verdicts()
    for m in METRICS:
        band = f"{_fmt(m, cmp.ideal.low[m])}..{_fmt(m, cmp.ideal.high[m])}"
        lines.append(
            f"{names[m]:<12}{_fmt(m, cmp.theory_value(m)):>14}{band:>22}"
            f"{_fmt(m, getattr(cmp.replay, m)):>14}{_fmt(m, getattr(cmp.replay_latency, m)):>12}"
            f"{_fmt(m, getattr(cmp.measured, m)):>12}  {verdicts[m]}"
        )
    lines += [
        "",
        "noise 95%: where a perfect router lands in 95 % of runs of this many contacts;",
        "replay: this run's own arrivals, handle times and patience through a zero-latency FIFO queue,",
        "then with the latencies measured in the run. measured - replay ideal is the router's effect.",
        "",
    ]
    spread = f"{lr.per_agent[0]}..{lr.per_agent[-1]}" if lr.per_agent else "-"
    lines.append(
        f"fairness: {lr.fifo_inversions} of {lr.queued_contacts} queued contacts offered before an earlier "
        f"arrival ({lr.fifo_inversions_wide} when arrivals closer than the ingest p99 are not counted); "
        f"contacts per agent {spread}"
    )
    if lr.revoked_offers:
        lines.append(
            f"offers revoked because the customer left while the offer was on its way: {lr.revoked_offers}"
        )
    if lr.failures or lr.agent_errors:
        lines.append(
            f"failures: {len(lr.failures)} contacts ({lr.lost} never offered), "
            f"{lr.agent_errors} agent error frames"
        )
        lines.extend("  " + f for f in lr.failures[:5])
    lines.append(f"load generator: event-loop lag p99 {lr.loop_lag_ms:.2f} ms")
    lines += format_estimates(lr.estimates)
    return "\n".join(lines)


def format_estimates(acc: EstimateAccuracy | None) -> list[str]:
    """The wait estimates' part of the report."""
    if acc is None or not acc.contacts:
        return ["wait estimates: no contact waited"]
    return [
        "",
        f"wait estimates at arrival against the wait that followed ({acc.contacts} contacts that waited, "
        f"mean wait {acc.mean_wait:.1f} s; {acc.unknown} told 'unknown'):",
        f"  RMSE router            {acc.rmse_router:8.1f} s  ({acc.ratio:.2f}x the predictor)",
        f"  RMSE (n+1)/(c mu)      {acc.rmse_predictor:8.1f} s  (queue-length predictor, known rates)",
        f"  RMSE old method        {acc.rmse_old:8.1f} s  ({acc.old_ratio:.2f}x the router)",
        f"  mean error (told - waited): router {acc.bias_router:+.1f} s,"
        f" predictor {acc.bias_predictor:+.1f} s, old method {acc.bias_old:+.1f} s",
        f"  waits inside the told 10th-90th percentile range: {acc.range_coverage:.1%}",
    ]


def write_chart(cmp: Comparison, path: Path) -> None:
    """A PNG: the measured wait distribution against theory, and each metric with its bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sc = cmp.scenario
    outcomes = cmp.live.outcomes[sc.warmup :]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    horizon = max(3 * sc.sl_seconds, 4 * (cmp.theory.asa if math.isfinite(cmp.theory.asa) else sc.aht))
    ts = [horizon * i / 200 for i in range(201)]
    theory_curve = (
        [erlang.metrics(sc.agents, sc.load, sc.aht, t, sc.patience).service_level for t in ts]
        if sc.patience
        else [erlang.service_level_c(sc.agents, sc.load, sc.aht, t) for t in ts]
    )
    n = len(outcomes)
    waits = sorted(o.wait for o in outcomes if o.wait is not None)
    measured_curve = []
    j = 0
    for t in ts:
        while j < len(waits) and waits[j] <= t:
            j += 1
        measured_curve.append(j / n if n else math.nan)
    ax1.plot(ts, theory_curve, label="Erlang A" if sc.patience else "Erlang C", color="tab:blue")
    ax1.step(ts, measured_curve, where="post", label="measured", color="tab:red")
    ax1.axvline(sc.sl_seconds, color="grey", linestyle=":", linewidth=1)
    ax1.set_xlabel("wait, simulated seconds")
    ax1.set_ylabel("share of contacts answered within")
    ax1.set_title(f"{sc.agents} agents, {sc.load:g} Erlangs, AHT {sc.aht:g} s")
    ax1.legend(loc="lower right")
    ax1.grid(alpha=0.3)

    labels = ["P(wait)", f"SL {sc.sl_seconds:g}s", "abandoned", "ASA / AHT"]
    keys = ["p_wait", "service_level", "p_abandon", "asa"]
    th_vals = [cmp.theory_value(k) for k in keys]

    def norm(k: str, v: float) -> float:
        return v / sc.aht if k == "asa" else v

    xs = range(len(keys))
    width = 0.25
    ax2.bar(
        [x - width for x in xs],
        [norm(k, v) for k, v in zip(keys, th_vals, strict=True)],
        width,
        label="theory",
        color="tab:blue",
    )
    band = cmp.ideal
    mids = [norm(k, band.mean[k]) for k in keys]
    lo = [max(0.0, m - norm(k, band.low[k])) for k, m in zip(keys, mids, strict=True)]
    hi = [max(0.0, norm(k, band.high[k]) - m) for k, m in zip(keys, mids, strict=True)]
    ax2.errorbar(
        [x - width / 2 for x in xs],
        mids,
        yerr=[lo, hi],
        fmt="o",
        color="tab:green",
        label="perfect router, 95% of runs",
        capsize=4,
    )
    for offset, summary, color, label in (
        (0.0, cmp.replay, "tab:purple", "replay, zero latency"),
        (width / 2, cmp.replay_latency, "tab:orange", "replay + measured latency"),
    ):
        ax2.scatter(
            [x + offset for x in xs],
            [norm(k, getattr(summary, k)) for k in keys],
            marker="s",
            color=color,
            zorder=3,
            label=label,
        )
    ax2.scatter(
        [x + width for x in xs],
        [norm(k, getattr(cmp.measured, k)) for k in keys],
        marker="D",
        color="tab:red",
        zorder=3,
        label="measured",
    )
    ax2.set_xticks(list(xs), labels)
    ax2.set_title("theory, reference bands and the live router")
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=25, help="simulated agents (servers)")
    parser.add_argument("--aht", type=float, default=180.0, help="mean handle time, simulated seconds")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--arrivals-per-hour", type=float, help="simulated arrivals per hour")
    rate.add_argument("--utilization", type=float, default=0.88, help="traffic / agents (default 0.88)")
    parser.add_argument(
        "--patience",
        type=float,
        default=None,
        help="mean customer patience, simulated seconds (Erlang A); default: endless",
    )
    parser.add_argument("--sl-seconds", type=float, default=20.0, help="service-level threshold")
    parser.add_argument("--wrapup", type=float, default=0.0, help="wrap-up time, simulated seconds")
    parser.add_argument(
        "--away-every",
        type=float,
        default=None,
        help="mean simulated seconds between an agent's breaks (away); default: no breaks",
    )
    parser.add_argument("--away-for", type=float, default=300.0, help="mean break, simulated seconds")
    parser.add_argument("--contacts", type=int, default=3000, help="measured contacts")
    parser.add_argument("--warmup", type=int, default=None, help="contacts ignored at the start (10%%)")
    parser.add_argument(
        "--speedup", type=float, default=200.0, help="time compression: simulated seconds per real second"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replications", type=int, default=200, help="reference-model runs for the bands")
    parser.add_argument("--url", help="use a running server instead of starting one")
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("OMNIROUTE_ADMIN_TOKEN"),
        help="admin token of --url (default $OMNIROUTE_ADMIN_TOKEN)",
    )
    parser.add_argument("--config", help="config file for the server this command starts")
    parser.add_argument("--server-log-level", default="info", help="log level of the server it starts")
    parser.add_argument("--chart", default="simulate.png", help="PNG chart path ('' for none)")
    parser.add_argument("--json", dest="json_path", default=None, help="write the results as JSON here")


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    if args.arrivals_per_hour is not None:
        load = erlang.offered_load(args.arrivals_per_hour, args.aht)
    else:
        load = args.utilization * args.agents
    warmup = args.warmup if args.warmup is not None else max(50, args.contacts // 10)
    return Scenario(
        agents=args.agents,
        aht=args.aht,
        load=load,
        patience=args.patience,
        sl_seconds=args.sl_seconds,
        contacts=args.contacts,
        warmup=warmup,
        speedup=args.speedup,
        seed=args.seed,
        wrapup=args.wrapup,
        away_every=args.away_every,
        away_for=args.away_for,
    )


async def simulate(
    server: ServerHandle, sc: Scenario, *, replications: int = 200, progress: bool | None = None
) -> Comparison:
    bar = Progress(sc.warmup + sc.contacts, "simulate", enabled=progress)
    try:
        live = await run_live(server, sc, progress=bar)
    finally:
        bar.close()
    return compare(live, replications=replications)


async def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    sc = scenario_from_args(args)
    if sc.patience is None and sc.load >= sc.agents:
        print("omniroute simulate: traffic >= agents has no steady state without --patience", file=sys.stderr)
        return 2
    async with contextlib.AsyncExitStack() as stack:
        if args.url:
            if not args.admin_token:
                print("omniroute simulate: --url needs --admin-token", file=sys.stderr)
                return 2
            server = ServerHandle(args.url, args.admin_token)
        else:
            server = await stack.enter_async_context(
                launch_server(config=args.config, log_level=args.server_log_level)
            )
        cmp = await simulate(server, sc, replications=args.replications)
    out.write(format_report(cmp) + "\n")
    if args.chart:
        await asyncio.to_thread(write_chart, cmp, Path(args.chart))
        out.write(f"chart: {args.chart}\n")
    if args.json_path:
        doc = json.dumps(_json_safe(cmp.as_dict()), indent=2)
        await asyncio.to_thread(Path(args.json_path).write_text, doc)
    return 0 if cmp.agrees() and not cmp.live.failures else 1


def _json_safe(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    return x
