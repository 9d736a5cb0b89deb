"""The routing directory: queues, agents and rules. PostgreSQL is the record; every process keeps a
copy, reloaded when any process announces a change on the event stream, and the live index gets the
eligibility (which agents' skills meet which queues' minimum levels)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web

from context_store import agents as agent_store
from context_store import queues as queue_store
from context_store import rules as rule_store
from context_store.records import AgentRecord, QueueRecord
from router.config import FileConfig
from router.contracts import AgentConfig, QueueConfig, RoutingRule, RoutingStep
from router.routing import events
from router.routing.engine import Engine, Step
from router.routing.hours import Hours

HOURS_AHEAD = timedelta(days=8)
"""How far ahead a queue's open periods are given to the live index."""
HOURS_RENEW_SECONDS = 3600.0
"""How often each process gives them again (so the horizon never comes near)."""


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def meets(agent: AgentConfig, levels: dict[str, int]) -> bool:
    return all(agent.skills.get(skill, 0) >= level for skill, level in levels.items())


def eligible(agent: AgentConfig, queue: QueueConfig) -> bool:
    """In the queue's pool: its skills or one of its widening steps admit the agent. Which step is in
    force for an interaction (how long it has waited) is decided in the live index, per offer."""
    return meets(agent, queue.skills) or any(meets(agent, step.skills) for step in queue.steps)


def queue_record(queue_id: str, cfg: QueueConfig) -> QueueRecord:
    return QueueRecord(
        id=queue_id,
        name=cfg.name,
        skills=dict(cfg.skills),
        channels=[c.value for c in cfg.channels],
        priority=cfg.priority,
        offer_timeout_seconds=cfg.offer_timeout_seconds,
        wrapup_seconds=cfg.wrapup_seconds,
        service_level_seconds=cfg.service_level_seconds,
        strategy=cfg.strategy,
        steps=[s.model_dump() for s in cfg.steps],
        reject_cooldown_seconds=cfg.reject_cooldown_seconds,
        last_agent_seconds=cfg.last_agent_seconds,
        dispositions=list(cfg.dispositions),
        survey=cfg.survey.model_dump(mode="json") if cfg.survey else None,
        callback={
            "retry_seconds": cfg.callback_retry_seconds,
            "attempts": cfg.callback_attempts,
            "offer_after_seconds": cfg.callback_offer_after_seconds,
        },
        wait_rules=cfg.wait_rules().model_dump(mode="json", exclude_defaults=True),
    )


def _callback_settings(stored: dict[str, object]) -> dict[str, object]:
    """A queue's stored callback settings as QueueConfig fields (a queue stored before them: defaults)."""
    names = {"retry_seconds": "callback_retry_seconds", "attempts": "callback_attempts"}
    names["offer_after_seconds"] = "callback_offer_after_seconds"
    return {names[k]: v for k, v in stored.items() if k in names}


def agent_record(agent_id: str, cfg: AgentConfig) -> AgentRecord:
    return AgentRecord(
        id=agent_id,
        name=cfg.name,
        skills=dict(cfg.skills),
        capacity={c.value: n for c, n in cfg.capacity.items()},
        voice_blocks_other_channels=cfg.voice_blocks_other_channels,
        address=cfg.address,
        groups=list(cfg.groups),
    )


class Directory:
    """This process's copy of the queues, agents and rules, and the writes that change them."""

    def __init__(self, pool: asyncpg.Pool, engine: Engine, node_id: str, default_queue: str | None) -> None:
        self.pool = pool
        self.engine = engine
        self.node_id = node_id
        self.default_queue = default_queue
        self.queues: dict[str, QueueConfig] = {}
        self.agents: dict[str, AgentConfig] = {}
        self.rules: list[RoutingRule] = []
        self._rules_given: dict[
            str, float
        ] = {}  # queue -> when its waiting rules were last given (monotonic)

    async def reload(self) -> None:
        self.queues = {
            r.id: QueueConfig(
                name=r.name,
                skills=r.skills,
                channels=r.channels,
                priority=r.priority,
                offer_timeout_seconds=r.offer_timeout_seconds,
                wrapup_seconds=r.wrapup_seconds,
                service_level_seconds=r.service_level_seconds,
                strategy=r.strategy,
                steps=[RoutingStep.model_validate(s) for s in r.steps],
                reject_cooldown_seconds=r.reject_cooldown_seconds,
                last_agent_seconds=r.last_agent_seconds,
                dispositions=r.dispositions,
                survey=r.survey,
                **_callback_settings(r.callback),
                **r.wait_rules,
            )
            for r in await queue_store.list_all(self.pool, self.engine.namespace)
        }
        self.agents = {
            r.id: AgentConfig(
                name=r.name,
                skills=r.skills,
                capacity=r.capacity,
                voice_blocks_other_channels=r.voice_blocks_other_channels,
                address=r.address,
                groups=r.groups,
            )
            for r in await agent_store.list_all(self.pool, self.engine.namespace)
        }
        self.rules = [
            RoutingRule(when=r.when, queue=r.queue_id)
            for r in await rule_store.list_all(self.pool, self.engine.namespace)
        ]

    async def sync_live(self) -> None:
        """Write capacity, timeouts and eligibility of the cached directory into the live index."""
        blended = {
            str(k): str(v) for k, v in (await self.engine.redis.hgetall(self.engine.keys.agent_blend)).items()
        }
        for agent_id in self.agents:
            await self.sync_agent(agent_id, blended.get(agent_id, ""))
        for queue_id in self.queues:
            await self.sync_queue(queue_id)

    async def sync_queue(self, queue_id: str) -> None:
        """One queue's timeouts and the agents eligible for it (``set_queue`` updates both sides)."""
        queue = self.queues[queue_id]
        agents = sorted(a for a, agent in self.agents.items() if eligible(agent, queue))
        await self.engine.set_queue(
            queue_id,
            timeout_ms=int(queue.offer_timeout_seconds * 1000),
            wrapup_ms=int(queue.wrapup_seconds * 1000),
            agents=agents,
            strategy=queue.strategy,
            skills=dict(queue.skills),
            steps=[Step(int(s.after_seconds * 1000), dict(s.skills)) for s in queue.steps],
            cooldown_ms=int(queue.reject_cooldown_seconds * 1000),
        )
        await self.sync_wait_rules(queue_id)

    async def sync_wait_rules(self, queue_id: str) -> None:
        """One queue's overflow rules and, when it holds its work while closed, its open periods for the
        next ``HOURS_AHEAD`` (``queue_rules.lua``)."""
        queue = self.queues[queue_id]
        now = datetime.now(UTC)
        periods = None
        if queue.hours is not None and queue.closed_action == "wait":
            periods = [
                (_ms(a), _ms(b))
                for a, b in Hours(queue.hours).intervals(now - timedelta(days=1), now + HOURS_AHEAD)
            ]
        await self.engine.queue_rules(
            queue_id,
            overflow=[(int(r.after_seconds * 1000), r.queue) for r in queue.overflow],
            hours=periods,
            until_ms=_ms(now + HOURS_AHEAD),
        )
        self._rules_given[queue_id] = time.monotonic()

    async def renew_hours(self) -> None:
        """Give the open periods of queues that hold their work while closed again, once an hour (a duty
        of the reconciler), so the live index always knows them days ahead."""
        for queue_id, queue in list(self.queues.items()):
            if queue.hours is None or queue.closed_action != "wait":
                continue
            if time.monotonic() - self._rules_given.get(queue_id, 0.0) >= HOURS_RENEW_SECONDS:
                await self.sync_wait_rules(queue_id)

    async def sync_agent(self, agent_id: str, blended: str | None = None) -> None:
        """One agent's capacity and the queues it is eligible for (``set_agent`` updates both sides). The
        capacity is the agent's own, with what the blending rules in force give it over it (``blended``:
        their JSON as the live index holds it; None: read it there)."""
        agent = self.agents[agent_id]
        queues = sorted(q for q, queue in self.queues.items() if eligible(agent, queue))
        if blended is None:
            blended = str(await self.engine.redis.hget(self.engine.keys.agent_blend, agent_id) or "")
        await self.engine.set_agent(
            agent_id,
            capacity={**agent.full_capacity(), **(json.loads(blended) if blended else {})},
            voice_blocks=agent.voice_blocks_other_channels,
            queues=queues,
            skills=dict(agent.skills),
        )

    async def announce_change(self) -> None:
        """Tell the other processes to reload their copy."""
        await events.publish(self.engine, "config", {"node": self.node_id})

    async def put_queue(self, queue_id: str, cfg: QueueConfig) -> None:
        """Create or change one queue: only that queue is written to the live index, so a change costs
        the same with ten agents or ten thousand."""
        await queue_store.upsert(self.pool, self.engine.namespace, queue_record(queue_id, cfg))
        self.queues[queue_id] = cfg
        await self.sync_queue(queue_id)
        await self.announce_change()

    async def put_agent(self, agent_id: str, cfg: AgentConfig) -> None:
        """Create or change one agent; only that agent is written to the live index."""
        await agent_store.upsert(self.pool, self.engine.namespace, agent_record(agent_id, cfg))
        self.agents[agent_id] = cfg
        await self.sync_agent(agent_id)
        await self.announce_change()

    async def put_rules(self, rules: list[RoutingRule]) -> None:
        await rule_store.replace(self.pool, self.engine.namespace, [(r.when, r.queue) for r in rules])
        await self.reload()
        await self.announce_change()

    async def apply_file(self, cfg: FileConfig) -> None:
        """Apply the configuration file's queues, agents and rules (declarative upserts). The queues and
        agents are written in one transaction on one connection: a big center's file (20,000 agents) is
        one commit instead of one per row."""
        async with self.pool.acquire() as conn, conn.transaction():
            for q in cfg.queues:
                await queue_store.upsert(conn, self.engine.namespace, queue_record(q.id, q))
            for a in cfg.agents:
                await agent_store.upsert(conn, self.engine.namespace, agent_record(a.id, a))
        if cfg.rules:
            await rule_store.replace(self.pool, self.engine.namespace, [(r.when, r.queue) for r in cfg.rules])
        await self.reload()

    def choose_queue(self, channel: str, attributes: dict[str, object]) -> str | None:
        for rule in self.rules:
            ok = True
            for key, want in rule.when.items():
                have = channel if key == "channel" else attributes.get(key)
                if isinstance(want, list):
                    ok = have in want or str(have) in [str(w) for w in want]
                else:
                    ok = have == want or (have is not None and str(have) == str(want))
                if not ok:
                    break
            if ok:
                return rule.queue
        if self.default_queue:
            return self.default_queue
        for queue_id in sorted(self.queues):
            if channel in self.queues[queue_id].channels:
                return queue_id
        return None


DIRECTORY = web.AppKey("directory", Directory)
