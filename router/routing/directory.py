"""The routing directory: queues, agents and rules. PostgreSQL is the record; every process keeps a
copy, reloaded when any process announces a change on the event stream, and the live index gets the
eligibility (which agents' skills meet which queues' minimum levels)."""

from __future__ import annotations

import json

from context_store import config as store
from router.config import FileConfig
from router.contracts import AgentConfig, QueueConfig, RoutingRule
from router.state import Runtime


def eligible(agent: AgentConfig, queue: QueueConfig) -> bool:
    return all(agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items())


async def reload(rt: Runtime) -> None:
    rows = await store.all_queues(rt.pool)
    rt.queues = {
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
    rt.agents = {
        r["id"]: AgentConfig(
            name=r["name"],
            skills=r["skills"],
            capacity=r["capacity"],
            voice_blocks_other_channels=r["voice_blocks_other_channels"],
            address=r["address"],
        )
        for r in await store.all_agents(rt.pool)
    }
    rt.rules = [RoutingRule.model_validate(r) for r in await store.all_rules(rt.pool)]


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
    await store.upsert_queue(rt.pool, queue_id, cfg.model_dump(mode="json"))
    rt.queues[queue_id] = cfg
    await sync_queue(rt, queue_id)
    await announce_change(rt)


async def put_agent(rt: Runtime, agent_id: str, cfg: AgentConfig) -> None:
    """Create or change one agent; only that agent is written to the live index."""
    await store.upsert_agent(rt.pool, agent_id, cfg.model_dump(mode="json"))
    rt.agents[agent_id] = cfg
    await sync_agent(rt, agent_id)
    await announce_change(rt)


async def apply_file(rt: Runtime, cfg: FileConfig) -> None:
    """Apply the configuration file's queues, agents and rules (declarative upserts)."""
    for q in cfg.queues:
        await store.upsert_queue(rt.pool, q.id, q.model_dump(mode="json", exclude={"id"}))
    for a in cfg.agents:
        await store.upsert_agent(rt.pool, a.id, a.model_dump(mode="json", exclude={"id"}))
    if cfg.rules:
        await store.replace_rules(rt.pool, [r.model_dump(mode="json") for r in cfg.rules])
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
