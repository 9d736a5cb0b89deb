"""Live queue statistics and the estimated wait told to customers.

The wait estimate (``router/routing/estimates.py``, the method in docs/wait-estimates.md) counts only
the agents who can take the work now, the interaction's place among all the work they serve, the
measured handle time including wrap-up, the widening steps and business hours.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from context_store import interactions as interaction_store
from context_store.records import QueueDayMetrics
from router.contracts import QueueStats
from router.routing import hours
from router.routing.directory import Directory
from router.routing.engine import Engine, QueueAgents
from router.routing.estimates import WaitEstimate, WaitEstimator


def start_of_day(tz: str, now: datetime | None = None) -> datetime:
    """The start of today in the time zone ``tz`` (the center's day, ``[server] timezone``)."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class Statistics:
    """Live statistics of the queues, read from the live index (and today's counts from the record)."""

    def __init__(
        self, pool: asyncpg.Pool, engine: Engine, directory: Directory, timezone: str = "UTC"
    ) -> None:
        self.pool = pool
        self.timezone = timezone
        self.engine = engine
        self.directory = directory
        self.estimator = WaitEstimator(engine, directory)

    def forget_staffing(self) -> None:
        """Agents signed in or out, or changed presence: wait estimates count them afresh."""
        self.estimator.forget()

    async def estimate_wait(
        self,
        queue: str,
        channel: str,
        position: int | None,
        *,
        score: float | None = None,
        venq_ms: int | None = None,
        opens_at: datetime | None = None,
    ) -> WaitEstimate | None:
        """The wait of the interaction at ``position`` (see :meth:`WaitEstimator.estimate`); ``opens_at``
        is when the queue opens if it is closed now (business hours). None: nobody who could serve it
        is staffed."""
        return await self.estimator.estimate(
            queue, channel, position, score=score, venq_ms=venq_ms, opens_at=opens_at
        )

    async def day_counts(self) -> dict[str, dict[str, int]]:
        return {
            r.queue_id: {"answered": r.answered, "in_sl": r.answered_in_sl, "abandoned": r.abandoned}
            for r in await interaction_store.day_counts(
                self.pool, self.engine.namespace, start_of_day(self.timezone)
            )
        }

    async def day_metrics(self) -> dict[str, QueueDayMetrics]:
        """Per queue, today's arrived, answered, abandoned and average speed of answer (``/metrics``)."""
        rows = await interaction_store.day_metrics(
            self.pool, self.engine.namespace, start_of_day(self.timezone)
        )
        return {r.queue_id: r for r in rows}

    async def agents_by_state(self) -> dict[str, int]:
        """The configured agents by state: the presence state of those connected, ``offline`` for the
        others (one pipelined read)."""
        agents = sorted(self.directory.agents)
        pipe = self.engine.redis.pipeline(transaction=False)
        for a in agents:
            pipe.hmget(self.engine.keys.agent(a), "connected", "state")
        counts: dict[str, int] = {"offline": 0}
        for connected, state in await pipe.execute() if agents else []:
            key = str(state or "away") if connected == "1" else "offline"
            counts[key] = counts.get(key, 0) + 1
        return counts

    async def queue_stats(
        self, queue: str, day: dict[str, int] | None = None, agents: QueueAgents | None = None
    ) -> QueueStats:
        """The queue's live figures (``agents``: its agents as just counted, not counted again)."""
        keys = self.engine.keys
        pipe = self.engine.redis.pipeline(transaction=False)
        pipe.zcard(keys.queue(queue))
        pipe.zrange(keys.queue_age(queue), 0, 0, withscores=True)
        res: list[Any] = await pipe.execute()
        waiting = int(res[0])
        oldest = (time.time() * 1000 - float(res[1][0][1])) / 1000 if res[1] else 0.0
        if agents is None:
            agents = await self.engine.queue_agents(queue)
        available, busy, wrapup = agents.available, agents.busy, agents.wrapup
        cfg = self.directory.queues.get(queue)
        channel = cfg.channels[0].value if cfg and cfg.channels else "voice"
        opens = hours.opens_at(cfg.hours, datetime.now(UTC)) if cfg and cfg.hours else None
        est = await self.estimate_wait(queue, channel, waiting + 1, opens_at=opens) if waiting else None
        ewt = (est.seconds if est else None) if waiting else 0.0
        day = day or {}
        answered = day.get("answered", 0)
        return QueueStats(
            waiting=waiting,
            oldest_wait_seconds=round(max(oldest, 0.0), 1),
            estimated_wait_seconds=ewt,
            agents_available=available,
            agents_busy=busy,
            agents_wrapup=wrapup,
            answered_today=answered,
            answered_in_sl_today=day.get("in_sl", 0),
            abandoned_today=day.get("abandoned", 0),
            service_level=round(day.get("in_sl", 0) / answered, 3) if answered else None,
        )


STATS = web.AppKey("stats", Statistics)
