"""The wait told to a waiting customer: who can serve it, how much work is ahead of it, how fast it goes.

* **Who serves it.** The agents of the queue's pool who can take the work now: desktop connected,
  state ``available`` (an agent who is away, on a break or offline does not count, busy or not), with
  capacity on the interaction's channel (an agent who takes only other channels does not count). Each
  widening step has its own agents: those meeting the step's levels count from the moment the
  interaction reaches the step (its virtual enqueue time plus the step's ``after_seconds``).
* **Work ahead.** The interaction's own place among the work those agents serve: the interactions on
  its channel ranked before it (priority, then virtual enqueue time: the order ``match_agent`` offers
  in) in its queue, plus, for each other queue those agents serve, its interactions on that channel
  ranked before it times the share of that queue's present agents who are among ours (the part of that
  work which will take our agents' slots).
* **How fast.** Each slot finishes work at the measured handle time of the queue on that channel:
  offer to capacity freed, so talk and wrap-up (a moving average kept by the routing scripts).
* **Business hours.** A queue closed now serves nothing until it opens: ``opens_at`` shifts the start.

``router/routing/wait_model.py`` turns these into the distribution of the wait (the mean and the 10th
and 90th percentiles). The staffing side is read once per queue and channel and reused for a second
(``STAFFING_TTL``); the work ahead is read for every estimate, so a position is never stale.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from router.contracts import Channel, QueueConfig
from router.routing.directory import Directory, meets
from router.routing.engine import Engine
from router.routing.wait_model import Segment, wait_distribution

DEFAULT_AHT_SECONDS = 180.0  # before any work of the queue on that channel has ended
STAFFING_TTL = 1.0  # seconds a queue's staffing and handle time are reused for wait estimates
SCAN_LIMIT = 2000  # items ahead read per mixed-channel queue; beyond it the count is extrapolated


@dataclass(frozen=True)
class WaitEstimate:
    seconds: float
    range: tuple[float, float]
    """The 10th and 90th percentile of the wait, in seconds."""


ZERO = WaitEstimate(0.0, (0.0, 0.0))


@dataclass(frozen=True)
class _Tier:
    after_ms: int
    slots: int
    free: dict[str, int]
    """Its agents (present, meeting its levels) -> their free slots on the channel now."""


@dataclass(frozen=True)
class _Staffing:
    expires: float
    handle_s: float
    tiers: tuple[_Tier, ...]
    shares: dict[str, float]
    """Other queues served by our agents -> the share of their present agents who are ours."""


def _row_fields() -> list[str]:
    fields = ["connected", "state", "vblock"]
    for ch in Channel:
        fields += [f"cap:{ch.value}", f"load:{ch.value}"]
    return fields


_FIELDS = _row_fields()


@dataclass(frozen=True)
class _Agent:
    present: bool
    cap: int
    free: int


def _agent(row: Sequence[str | None], channel: str) -> _Agent:
    values = dict(zip(_FIELDS, row, strict=True))
    cap = int(values.get(f"cap:{channel}") or 0)
    present = values.get("connected") == "1" and values.get("state") == "available" and cap > 0
    loads = {ch.value: int(values.get(f"load:{ch.value}") or 0) for ch in Channel}
    free = max(0, cap - loads[channel])
    if values.get("vblock") != "0":  # voice blocks the other channels and needs them empty
        exclusive = {ch.value for ch in Channel if ch.spec.exclusive}
        if channel in exclusive and any(n for c, n in loads.items() if c not in exclusive):
            free = 0
        if channel not in exclusive and any(loads[c] for c in exclusive):
            free = 0
    return _Agent(present, cap, free)


class WaitEstimator:
    def __init__(self, engine: Engine, directory: Directory) -> None:
        self.engine = engine
        self.directory = directory
        self._staffing: dict[tuple[str, str], _Staffing] = {}

    def forget(self) -> None:
        """Presence or agents changed: the next estimates count the agents afresh."""
        self._staffing.clear()

    async def _rows(self, agents: Sequence[str]) -> list[list[str | None]]:
        pipe = self.engine.redis.pipeline(transaction=False)
        for a in agents:
            pipe.hmget(self.engine.keys.agent(a), _FIELDS)
        return list(await pipe.execute()) if agents else []

    async def _members(self, keys: Sequence[str]) -> list[set[str]]:
        pipe = self.engine.redis.pipeline(transaction=False)
        for k in keys:
            pipe.smembers(k)
        return [{str(m) for m in s} for s in await pipe.execute()] if keys else []

    async def staffing(self, queue: str, channel: str) -> _Staffing:
        now = time.monotonic()
        cached = self._staffing.get((queue, channel))
        if cached is not None and cached.expires > now:
            return cached
        keys = self.engine.keys
        cfg = self.directory.queues.get(queue)
        agents: dict[str, _Agent] = {}
        counted = await self.engine.queue_agents(queue)
        if counted.available or counted.busy or counted.wrapup:
            pool = sorted((await self._members([keys.queue_agents(queue)]))[0])
            rows = dict(zip(pool, await self._rows(pool), strict=True))
            agents = {a: _agent(r, channel) for a, r in rows.items()}
        # else none of the queue's agents is both signed in and available or holding work, so none is
        # present: its agents' rows are not read (one script instead of a read of every agent, which is
        # what a queue nobody staffs would cost on every estimate, since that answer is never reused)
        levels: list[tuple[int, dict[str, int]]] = [(0, dict(cfg.skills) if cfg else {})]
        if cfg is not None:
            levels += [(int(s.after_seconds * 1000), dict(s.skills)) for s in cfg.steps]
        tiers = []
        for after_ms, lv in levels:
            ours = frozenset(
                a
                for a, st in agents.items()
                if st.present and (conf := self.directory.agents.get(a)) is not None and meets(conf, lv)
            )
            tiers.append(_Tier(after_ms, sum(agents[a].cap for a in ours), {a: agents[a].free for a in ours}))
        ours_all = frozenset().union(*(t.free for t in tiers))
        shares: dict[str, float] = {}
        if ours_all:
            served = await self._members([keys.agent_queues(a) for a in sorted(ours_all)])
            others = sorted(set().union(*served) - {queue})
            others = [q for q in others if self._takes(q, channel)]
            pools = await self._members([keys.queue_agents(q) for q in others])
            unread = sorted(set().union(*pools) - set(agents)) if pools else []
            for a, r in zip(unread, await self._rows(unread), strict=True):
                agents[a] = _agent(r, channel)
            for q, members in zip(others, pools, strict=True):
                present = {a for a in members if agents[a].present}
                if present:
                    shares[q] = len(present & ours_all) / len(present)
        ht = await self.engine.redis.hget(keys.queue_stats(queue), f"ht:{channel}")
        handle_s = float(ht) if ht is not None else DEFAULT_AHT_SECONDS + (cfg.wrapup_seconds if cfg else 0)
        staffing = _Staffing(now + STAFFING_TTL, max(handle_s, 1e-3), tuple(tiers), shares)
        if ours_all:  # "nobody staffed" is never reused: the first agent to become available changes it
            self._staffing[(queue, channel)] = staffing
        return staffing

    def _takes(self, queue: str, channel: str) -> bool:
        cfg = self.directory.queues.get(queue)
        return cfg is None or any(c.value == channel for c in cfg.channels)

    def _single_channel(self, cfg: QueueConfig | None, channel: str) -> bool:
        return cfg is not None and [c.value for c in cfg.channels] == [channel]

    async def work_ahead(
        self, queue: str, channel: str, position: int, score: float | None, shares: dict[str, float]
    ) -> float:
        """The work before this interaction on its channel, weighed by the share our agents take."""
        keys = self.engine.keys
        queues = [(queue, 1.0), *shares.items()]
        upper = "+inf" if score is None else f"({score!r}"
        pipe = self.engine.redis.pipeline(transaction=False)
        plan: list[tuple[float, bool]] = []
        for q, share in queues:
            exact = self._single_channel(self.directory.queues.get(q), channel)
            if q == queue and exact:
                continue  # the position counts them
            if exact:
                pipe.zcount(keys.queue(q), "-inf", upper)
            else:
                pipe.zrangebyscore(keys.queue(q), "-inf", upper, start=0, num=SCAN_LIMIT)
                pipe.zcount(keys.queue(q), "-inf", upper)
            plan.append((share, exact))
        res = await pipe.execute() if plan else []
        own_exact = self._single_channel(self.directory.queues.get(queue), channel)
        total = float(position - 1) if own_exact else 0.0
        members: list[tuple[float, list[str], int]] = []
        k = 0
        for share, exact in plan:
            if exact:
                total += share * int(res[k])
                k += 1
            else:
                ids = [str(i) for i in res[k]]
                members.append((share, ids, int(res[k + 1])))
                k += 2
        if members:
            pipe = self.engine.redis.pipeline(transaction=False)
            for _, ids, _ in members:
                for i in ids:
                    pipe.hget(keys.interaction(i), "ch")
            chans = [str(c) if c is not None else "" for c in await pipe.execute()]
            j = 0
            for share, ids, count in members:
                same = sum(1 for c in chans[j : j + len(ids)] if c == channel)
                j += len(ids)
                if ids and count > len(ids):
                    same = round(same * count / len(ids))  # extrapolated beyond the scan
                total += share * same
        return total

    async def estimate(
        self,
        queue: str,
        channel: str,
        position: int | None,
        *,
        score: float | None = None,
        venq_ms: int | None = None,
        opens_at: datetime | None = None,
    ) -> WaitEstimate | None:
        """The wait of the interaction at ``position`` of ``queue`` (1-based; None: being offered), with
        rank ``score`` and virtual enqueue time ``venq_ms`` (None: one arriving now, behind everything).
        ``opens_at``: when the queue opens, if it is closed now (business hours). None when nobody who
        could serve it is staffed."""
        if position is None:
            return ZERO
        staffing = await self.staffing(queue, channel)
        now_ms = time.time() * 1000
        waited_ms = 0.0 if venq_ms is None else max(0.0, now_ms - venq_ms)
        opens_in = 0.0
        if opens_at is not None:
            opens_in = max(0.0, (opens_at - datetime.fromtimestamp(now_ms / 1000, UTC)).total_seconds())
        segments = self.segments(staffing, waited_ms, opens_in)
        if not any(s.rate > 0 for s in segments):
            return None
        work = 1.0 + await self.work_ahead(queue, channel, position, score, staffing.shares)
        wait = wait_distribution(work, segments)
        if wait is None:
            return None
        return WaitEstimate(round(wait.seconds, 2), (round(wait.low, 2), round(wait.high, 2)))

    @staticmethod
    def segments(staffing: _Staffing, waited_ms: float, opens_in: float) -> list[Segment]:
        """The completion rate over the wait: each tier (the queue's skills, then each step) from when
        the interaction reaches it, nothing before the queue opens. Idle agents a later step adds take
        work at once when it applies (their free slots, a jump of completions)."""
        by_start: dict[float, Segment] = {0.0: Segment(0.0, 0.0)}
        previous: set[str] = set()
        for tier in staffing.tiers:
            start = max(0.0, (tier.after_ms - waited_ms) / 1000, opens_in)
            jump: float = sum(n for a, n in tier.free.items() if a not in previous) if start > 0 else 0
            if start in by_start:
                jump += by_start[start].jump
            by_start[start] = Segment(start, tier.slots / staffing.handle_s, jump)
            previous = set(tier.free)
        return [by_start[s] for s in sorted(by_start)]
