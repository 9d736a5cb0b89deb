"""One fault run: router processes (``python -m router serve``) on the run's own PostgreSQL database and
Redis namespace, desks and an adapter driving them, a fault in the middle of the load, and the figures."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from tests.chaos.backends import OwnPostgres, OwnRedis
from tests.chaos.load import Adapter, Audit, Desk, Ledger, audit, config_toml, open_count, scale
from tests.support.servers import RouterProcess, Services

AGENTS = [f"c{k}" for k in range(1, 9)]
RATE = 40.0  # interactions a second, about half of what the agents can take
BASE_COUNT = 480
SETTLE_SECONDS = 45.0  # after the last answer; the reconciler repairs a crash's gap after 10 s


@dataclass
class Figures:
    run: str
    interactions: int
    answered: int
    unanswered: int
    refused_503: int
    connection_errors: int
    other_errors: dict[str, int]
    reconnects: int
    missed_offers: int
    accept_errors: dict[str, int]
    frames_before_hello: int
    unhandled: dict[str, int]
    closes: dict[str, int]
    lost: int
    duplicated: int
    stuck: int
    still_open: int
    outage_seconds: float
    recovery_seconds: float
    drained_seconds: float

    def line(self) -> str:
        other = ", ".join(f"{n} x {s}" for s, n in sorted(self.other_errors.items())) or "none"
        refused = ", ".join(f"{n} x {c}" for c, n in sorted(self.accept_errors.items())) or "none"
        closes = ", ".join(f"{n} x {c}" for c, n in sorted(self.closes.items())) or "none"
        unhandled = ", ".join(f"{n} x {s}" for s, n in sorted(self.unhandled.items())) or "none"
        return (
            f"{self.run}: {self.interactions} interactions, {self.answered} answered 2xx "
            f"({self.refused_503} 503s and {self.connection_errors} connection errors retried; "
            f"other errors: {other}; {self.unanswered} never answered), {self.reconnects} reconnects, "
            f"{self.missed_offers} missed offers, accepts refused: {refused}, "
            f"{self.frames_before_hello} frames before hello, "
            f"socket closes {closes}, 500s logged: {unhandled}; "
            f"lost {self.lost}, duplicated {self.duplicated}, stuck {self.stuck}, "
            f"{self.still_open} still open after the settle time; outage "
            f"{self.outage_seconds:.1f} s, recovery {self.recovery_seconds:.1f} s, drained "
            f"{self.drained_seconds:.1f} s after the last answer"
        )


# A fault: given the cluster, do the damage and the healing; answer (fault start, fault end) as
# monotonic times. The end is when healing begins (a restart, a server started again); for a process
# that is killed and not replaced, the end is the kill.
Fault = Callable[["Cluster"], Awaitable[tuple[float, float]]]


class Cluster:
    def __init__(self, database_url: str, postgres: OwnPostgres, redis: OwnRedis, workdir: Path) -> None:
        self.postgres, self.redis, self.workdir = postgres, redis, workdir
        self.database_url = database_url
        self.namespace = "chaos" + uuid.uuid4().hex[:8]
        self.tokens = {name: f"or_chaos_{name}_{uuid.uuid4().hex}" for name in ["adapter", *AGENTS]}
        self.toml = config_toml(self.namespace, self.tokens)
        self.services = Services(database_url=database_url, redis_url=redis.url, data_dir=workdir)
        self.admin = "admin-" + uuid.uuid4().hex
        self.routers: list[RouterProcess] = []
        self.ledger = Ledger()
        self.desks: list[Desk] = []
        self.audit: Audit | None = None

    async def start_routers(self, count: int) -> list[RouterProcess]:
        for _ in range(count):
            proc = RouterProcess(self.toml, self.services, self.admin, self.workdir)
            await proc.start()
            self.routers.append(proc)
        return self.routers

    async def restart(self, proc: RouterProcess) -> None:
        """Start a killed router again on its port, as a process supervisor does."""
        assert proc.proc is not None and proc.proc.returncode is not None, "it is still running"
        proc._logfile.close()
        await proc.start()

    async def run(self, name: str, fault: Fault) -> Figures:
        """Desks on every router, the adapter posting across all of them, the fault at 40% of the load;
        then the settle time, the audit and the figures."""
        urls = [p.url for p in self.routers]
        for k, agent in enumerate(AGENTS):
            desk = Desk(agent, self.tokens[agent], urls, self.ledger)
            desk.start(home=k % len(urls))
            self.desks.append(desk)
        await self._until(lambda: all(d.connected for d in self.desks), 30, "every desk connected")
        count = max(20, round(BASE_COUNT * scale()))
        adapter = Adapter(urls, self.tokens["adapter"], self.ledger, self.namespace)
        posting = asyncio.create_task(adapter.post_all(count, RATE))
        await asyncio.sleep(0.4 * count / RATE)
        start, end = await fault(self)
        await posting
        last_answer = time.monotonic()
        deadline = last_answer + SETTLE_SECONDS
        while time.monotonic() < deadline and await self._open() != 0:
            await asyncio.sleep(0.25)
        drained = time.monotonic() - last_answer
        self.audit = result = await audit(
            self.database_url, self.redis.url, self.namespace, self.ledger, self.desks
        )
        led = self.ledger
        return Figures(
            run=name,
            interactions=led.posted,
            answered=len(led.answered),
            unanswered=len(led.unanswered),
            refused_503=led.refused_503,
            connection_errors=led.connection_errors,
            other_errors=dict(led.other_errors),
            reconnects=led.reconnects,
            missed_offers=led.missed_offers,
            accept_errors=dict(led.accept_errors),
            frames_before_hello=led.frames_before_hello,
            unhandled=self.unhandled(),
            closes=dict(Counter(str(code) for _, _, code in led.disconnects)),
            lost=len(result.lost),
            duplicated=len(result.duplicated),
            stuck=len(result.stuck),
            still_open=len(result.still_open),
            outage_seconds=end - start,
            recovery_seconds=self._recovery(start, end),
            drained_seconds=drained,
        )

    def unhandled(self) -> dict[str, int]:
        """The requests and sockets the routers ended with a 500 (logged ``http.unhandled``), by path and
        exception class."""
        found: Counter[str] = Counter()
        for p in self.routers:
            for line in p.log.read_text(errors="replace").splitlines():
                if '"http.unhandled"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                path = str(entry.get("path", "?"))
                last = str(entry.get("exception", "")).strip().splitlines()[-1:] or ["?"]
                error = last[0].split(":")[0].rsplit(".", 1)[-1]
                found[f"{'a socket' if path.endswith('/socket') else path} ({error})"] += 1
        return dict(found)

    async def _open(self) -> int:
        try:
            return await open_count(self.database_url)
        except OSError:
            return -1  # PostgreSQL is not back yet

    def _recovery(self, start: float, end: float) -> float:
        """Seconds from the healing until routing is whole again: the adapter answered 2xx, an offer
        accepted, and every desk that lost its socket in the fault connected again."""
        led = self.ledger
        marks = [
            min((t for t in led.answered_at.values() if t >= end), default=math.inf),
            min((t for t in led.accepted_at if t >= end), default=math.inf),
        ]
        for agent in {a for a, t, _ in led.disconnects if t >= start}:
            marks.append(min((t for a, t in led.connects if a == agent and t >= start), default=math.inf))
        return max(0.0, max(marks) - end)

    async def _until(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, f"not reached in {timeout:g} s: {what}"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await asyncio.gather(*(d.stop() for d in self.desks), return_exceptions=True)
        for p in self.routers:
            await p.stop()

    def verdict(self, figures: Figures) -> str:
        """The assertion message: the figures and what the audit found, by interaction."""
        a = self.audit
        found = [] if a is None else [*a.lost, *a.duplicated, *a.stuck, *a.still_open]
        logs = ", ".join(str(p.log) for p in self.routers)
        return "\n".join([figures.line(), *found[:30], f"router logs: {logs}"])
