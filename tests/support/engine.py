"""The engine layer: the routing engine's Lua scripts called directly on a fresh Redis namespace, and
what they leave behind (the live index's keys, the event stream), read through the engine and its key
catalogue (``router.routing.keys``), never through hand-written key names."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from router.contracts.channels import Channel
from router.routing.engine import Engine, Step, rank_score

T0 = 1_800_000_000_000  # a fixed "now" in ms for virtual enqueue and arrival times

CHANNELS = tuple(ch.value for ch in Channel)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    data: dict[str, Any]


class Stream:
    """The engine's event stream, read in order; each read returns what was appended since the last."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.last = "0-0"

    async def read(self) -> list[Event]:
        rows = await self.engine.redis.xrange(self.engine.keys.events, min=f"({self.last}")
        events = [Event(str(i), str(f["type"]), json.loads(f["data"])) for i, f in rows]
        if events:
            self.last = events[-1].id
        return events

    async def types(self) -> list[str]:
        return [e.type for e in await self.read()]

    async def all(self) -> list[Event]:
        """Every event from the start of the stream (does not move the read position)."""
        rows = await self.engine.redis.xrange(self.engine.keys.events)
        return [Event(str(i), str(f["type"]), json.loads(f["data"])) for i, f in rows]


def capacity(**per_channel: int) -> dict[str, int]:
    """A capacity on every channel, 0 where not given."""
    unknown = set(per_channel) - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown channels: {sorted(unknown)}")
    return {ch: per_channel.get(ch, 0) for ch in CHANNELS}


class Live:
    """A routing domain built through the engine, as the router's directory and sockets build it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: dict[str, str] = {}

    @property
    def redis(self) -> aioredis.Redis:
        return self.engine.redis

    async def queue(
        self,
        queue_id: str,
        *,
        timeout_ms: int = 60_000,
        wrapup_ms: int = 0,
        agents: list[str] | None = None,
        strategy: str = "longest_idle",
        skills: dict[str, int] | None = None,
        steps: list[Step] | None = None,
        cooldown_ms: int = 30_000,
    ) -> int:
        return await self.engine.set_queue(
            queue_id,
            timeout_ms=timeout_ms,
            wrapup_ms=wrapup_ms,
            agents=agents or [],
            strategy=strategy,
            skills=skills,
            steps=steps,
            cooldown_ms=cooldown_ms,
        )

    async def agent(
        self,
        agent_id: str,
        *,
        queues: list[str],
        state: str | None = "available",
        voice_blocks: bool = True,
        skills: dict[str, int] | None = None,
        **per_channel: int,
    ) -> str:
        """Configure an agent (capacity given per channel: ``chat=2``) and, unless ``state`` is None,
        connect its desktop in that state. Returns the session id."""
        await self.engine.set_agent(
            agent_id,
            capacity=capacity(**per_channel),
            voice_blocks=voice_blocks,
            queues=queues,
            skills=skills,
        )
        session = "s-" + uuid.uuid4().hex[:8]
        if state is not None:
            await self.connect(agent_id, state, session=session)
        return session

    async def connect(self, agent_id: str, state: str = "available", *, session: str | None = None) -> str:
        session = session or "s-" + uuid.uuid4().hex[:8]
        await self.engine.presence(agent_id, "connect", session, "node-1", state)
        self.sessions[agent_id] = session
        return session

    async def set_state(self, agent_id: str, state: str) -> None:
        presence = await self.engine.presence(agent_id, "state", self.sessions[agent_id], "node-1", state)
        assert presence is not None and presence.state == state

    async def disconnect(self, agent_id: str, grace_ms: int = 60_000) -> None:
        await self.engine.presence(agent_id, "disconnect", self.sessions[agent_id], "node-1", "", grace_ms)

    async def load(self, agent_id: str) -> dict[str, int]:
        live = await self.engine.agent_live(agent_id)
        return {ch: int(live.get(f"load:{ch}", 0)) for ch in CHANNELS}

    async def waiting(self, queue: str) -> list[tuple[str, int]]:
        """The queue's waiting interactions, best first, with their rank scores."""
        rows = await self.redis.zrange(self.engine.keys.queue(queue), 0, -1, withscores=True)
        return [(str(m), int(s)) for m, s in rows]

    async def offers_of(self, agent_id: str) -> dict[str, str]:
        """The agent's open offers: interaction id -> offer id."""
        return {o["i"]: o["offer_id"] for o in await self.engine.agent_offers(agent_id)}

    async def excluded(self, interaction_id: str) -> set[str]:
        """The agents that interaction is not offered to now (a reject cooldown running, or a transfer)."""
        now = await redis_now_ms(self.engine)
        return {a for a, until in (await self.exclusions(interaction_id)).items() if until > now}

    async def exclusions(self, interaction_id: str) -> dict[str, int]:
        """Every exclusion entry: agent -> until ms."""
        rows = await self.redis.zrange(self.engine.keys.exclusions(interaction_id), 0, -1, withscores=True)
        return {str(a): int(u) for a, u in rows}

    async def queue_config(self, queue_id: str) -> dict[str, str]:
        config = await self.redis.hgetall(self.engine.keys.queue_config(queue_id))
        return {str(k): str(v) for k, v in config.items()}

    async def agent_queues(self, agent_id: str) -> set[str]:
        return {str(q) for q in await self.redis.smembers(self.engine.keys.agent_queues(agent_id))}

    async def queue_agents(self, queue_id: str) -> set[str]:
        return {str(a) for a in await self.redis.smembers(self.engine.keys.queue_agents(queue_id))}

    async def available(self, queue_id: str) -> list[str]:
        """Agents connected, available and eligible for the queue, longest idle first."""
        return [str(a) for a in await self.redis.zrange(self.engine.keys.queue_avail(queue_id), 0, -1)]

    async def dump(self) -> dict[str, Any]:
        """The whole live index but for the event stream (:func:`live_state`)."""
        return await live_state(self.engine)

    async def timers(self) -> dict[str, int]:
        rows = await self.redis.zrange(self.engine.keys.timers, 0, -1, withscores=True)
        return {str(m): int(s) for m, s in rows}


async def live_state(engine: Engine, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every key of the engine's routing domain with its value (read by type), but for the event stream
    (an append-only log: a take-back adds to it rather than removing from it) and keys ending in one
    of ``skip``: what "the live index is exactly as it was" compares."""
    out: dict[str, Any] = {}
    keys = engine.keys
    async for key in engine.redis.scan_iter(match=f"{keys.prefix}:*", count=1000):
        name = str(key)
        if name == keys.events or name.endswith(skip):
            continue
        kind = await engine.redis.type(name)
        if kind == "hash":
            out[name] = await engine.redis.hgetall(name)
        elif kind == "set":
            out[name] = set(await engine.redis.smembers(name))
        elif kind == "zset":
            out[name] = await engine.redis.zrange(name, 0, -1, withscores=True)
        elif kind == "list":
            out[name] = await engine.redis.lrange(name, 0, -1)
        elif kind == "string":
            out[name] = await engine.redis.get(name)
        else:
            out[name] = kind
    return out


async def redis_now_ms(engine: Engine) -> int:
    """Redis's clock, which the scripts read (``TIME``), in ms."""
    seconds, micros = await engine.redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


def score(priority: int, venq_ms: int) -> int:
    return rank_score(priority, venq_ms)
