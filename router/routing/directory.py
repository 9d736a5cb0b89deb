"""The routing directory: queues, agents and rules. PostgreSQL is the record; every process keeps a
copy, reloaded when any process announces a change on the event stream, and the live index gets the
eligibility (which agents' skills meet which queues' minimum levels)."""

from __future__ import annotations

import json

from context_store import agents as agent_store
from context_store import queues as queue_store
from context_store import rules as rule_store
from context_store.records import AgentRecord, QueueRecord
from router.config import FileConfig
from router.contracts import AgentConfig, QueueConfig, RoutingRule
from router.state import Runtime


def eligible(agent: AgentConfig, queue: QueueConfig) -> bool:
    return all(agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items())


async def reload(rt: Runtime) -> None:
    rt.queues = {
        r.id: QueueConfig(
            name=r.name,
            skills=r.skills,
            channels=r.channels,
            priority=r.priority,
            offer_timeout_seconds=r.offer_timeout_seconds,
            wrapup_seconds=r.wrapup_seconds,
            service_level_seconds=r.service_level_seconds,
        )
        for r in await queue_store.list_all(rt.pool)
    }
    rt.agents = {
        r.id: AgentConfig(
            name=r.name,
            skills=r.skills,
            capacity=r.capacity,
            voice_blocks_other_channels=r.voice_blocks_other_channels,
            address=r.address,
        )
        for r in await agent_store.list_all(rt.pool)
    }
    rt.rules = [RoutingRule(when=r.when, queue=r.queue_id) for r in await rule_store.list_all(rt.pool)]


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
    )


def agent_record(agent_id: str, cfg: AgentConfig) -> AgentRecord:
    return AgentRecord(
        id=agent_id,
        name=cfg.name,
        skills=dict(cfg.skills),
        capacity={c.value: n for c, n in cfg.capacity.items()},
        voice_blocks_other_channels=cfg.voice_blocks_other_channels,
        address=cfg.address,
    )


async def replace_rules(rt: Runtime, rules: list[RoutingRule]) -> None:
    await rule_store.replace(rt.pool, [(r.when, r.queue) for r in rules])


async def sync_live(rt: Runtime) -> None:
    """Write capacity, timeouts and eligibility of the cached directory into the live index."""
    for agent_id in rt.agents:
        await sync_agent(rt, agent_id)
    for queue_id in rt.queues:
        await sync_queue(rt, queue_id)


async def sync_queue(rt: Runtime, queue_id: str) -> None:
    """One queue's timeouts and the agents eligible for it (``set_queue`` updates both sides)."""
    queue = rt.queues[queue_id]
    agents = sorted(a for a, agent in rt.agents.items() if eligible(agent, queue))
    await rt.engine.set_queue(
        queue_id,
        timeout_ms=int(queue.offer_timeout_seconds * 1000),
        wrapup_ms=int(queue.wrapup_seconds * 1000),
        agents=agents,
    )


async def sync_agent(rt: Runtime, agent_id: str) -> None:
    """One agent's capacity and the queues it is eligible for (``set_agent`` updates both sides)."""
    agent = rt.agents[agent_id]
    queues = sorted(q for q, queue in rt.queues.items() if eligible(agent, queue))
    await rt.engine.set_agent(
        agent_id,
        capacity=agent.full_capacity(),
        voice_blocks=agent.voice_blocks_other_channels,
        queues=queues,
    )


async def announce_change(rt: Runtime) -> None:
    await rt.redis.xadd(
        rt.engine.keys.events,
        {"type": "config", "data": json.dumps({"node": rt.node_id})},
        maxlen=100_000,
        approximate=True,
    )


async def put_queue(rt: Runtime, queue_id: str, cfg: QueueConfig) -> None:
    """Create or change one queue: only that queue is written to the live index, so a change costs
    the same with ten agents or ten thousand."""
    await queue_store.upsert(rt.pool, queue_record(queue_id, cfg))
    rt.queues[queue_id] = cfg
    await sync_queue(rt, queue_id)
    await announce_change(rt)


async def put_agent(rt: Runtime, agent_id: str, cfg: AgentConfig) -> None:
    """Create or change one agent; only that agent is written to the live index."""
    await agent_store.upsert(rt.pool, agent_record(agent_id, cfg))
    rt.agents[agent_id] = cfg
    await sync_agent(rt, agent_id)
    await announce_change(rt)


async def apply_file(rt: Runtime, cfg: FileConfig) -> None:
    """Apply the configuration file's queues, agents and rules (declarative upserts)."""
    for q in cfg.queues:
        await queue_store.upsert(rt.pool, queue_record(q.id, q))
    for a in cfg.agents:
        await agent_store.upsert(rt.pool, agent_record(a.id, a))
    if cfg.rules:
        await replace_rules(rt, cfg.rules)
    await reload(rt)


def choose_queue(rt: Runtime, channel: str, attributes: dict[str, object]) -> str | None:
    for rule in rt.rules:
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
    default = rt.settings.file.routing.default_queue
    if default:
        return default
    for queue_id in sorted(rt.queues):
        if channel in rt.queues[queue_id].channels:
            return queue_id
    return None
