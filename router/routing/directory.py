"""The routing directory: queues, agents and rules. PostgreSQL is the record; every process keeps a
copy, reloaded when any process announces a change on the event stream, and the live index gets the
eligibility (which agents' skills meet which queues' minimum levels)."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from context_store import config as store
from router.config import FileConfig
from router.contracts import AgentConfig, QueueConfig, RoutingRule
from router.routing import events
from router.routing.engine import Engine


def eligible(agent: AgentConfig, queue: QueueConfig) -> bool:
    return all(agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items())


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

    async def reload(self) -> None:
        rows = await store.all_queues(self.pool)
        self.queues = {
            r["id"]: QueueConfig(
                name=r["name"],
                skills=r["skills"],
                channels=r["channels"],
                priority=r["priority"],
                offer_timeout_seconds=r["offer_timeout_seconds"],
                wrapup_seconds=r["wrapup_seconds"],
                service_level_seconds=r["service_level_seconds"],
            )
            for r in rows
        }
        self.agents = {
            r["id"]: AgentConfig(
                name=r["name"],
                skills=r["skills"],
                capacity=r["capacity"],
                voice_blocks_other_channels=r["voice_blocks_other_channels"],
                address=r["address"],
            )
            for r in await store.all_agents(self.pool)
        }
        self.rules = [RoutingRule.model_validate(r) for r in await store.all_rules(self.pool)]

    async def sync_live(self) -> None:
        """Write capacity, timeouts and eligibility of the cached directory into the live index."""
        for agent_id in self.agents:
            await self.sync_agent(agent_id)
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
        )

    async def sync_agent(self, agent_id: str) -> None:
        """One agent's capacity and the queues it is eligible for (``set_agent`` updates both sides)."""
        agent = self.agents[agent_id]
        queues = sorted(q for q, queue in self.queues.items() if eligible(agent, queue))
        await self.engine.set_agent(
            agent_id,
            capacity=agent.full_capacity(),
            voice_blocks=agent.voice_blocks_other_channels,
            queues=queues,
        )

    async def announce_change(self) -> None:
        """Tell the other processes to reload their copy."""
        await events.publish(self.engine, "config", {"node": self.node_id})

    async def put_queue(self, queue_id: str, cfg: QueueConfig) -> None:
        """Create or change one queue: only that queue is written to the live index, so a change costs
        the same with ten agents or ten thousand."""
        await store.upsert_queue(self.pool, queue_id, cfg.model_dump(mode="json"))
        self.queues[queue_id] = cfg
        await self.sync_queue(queue_id)
        await self.announce_change()

    async def put_agent(self, agent_id: str, cfg: AgentConfig) -> None:
        """Create or change one agent; only that agent is written to the live index."""
        await store.upsert_agent(self.pool, agent_id, cfg.model_dump(mode="json"))
        self.agents[agent_id] = cfg
        await self.sync_agent(agent_id)
        await self.announce_change()

    async def put_rules(self, rules: list[RoutingRule]) -> None:
        await store.replace_rules(self.pool, [r.model_dump(mode="json") for r in rules])
        await self.reload()
        await self.announce_change()

    async def apply_file(self, cfg: FileConfig) -> None:
        """Apply the configuration file's queues, agents and rules (declarative upserts)."""
        for q in cfg.queues:
            await store.upsert_queue(self.pool, q.id, q.model_dump(mode="json", exclude={"id"}))
        for a in cfg.agents:
            await store.upsert_agent(self.pool, a.id, a.model_dump(mode="json", exclude={"id"}))
        if cfg.rules:
            await store.replace_rules(self.pool, [r.model_dump(mode="json") for r in cfg.rules])
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
