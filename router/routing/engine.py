"""The routing engine: the live index in Redis, changed only by the Lua scripts in ``router/routing/lua``.

Every method here is one atomic script call (or a read); matching never takes several round
trips, so any number of router processes can share one Redis. Negative script results are
mapped to typed errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from router.contracts.channels import lua_header
from router.errors import Conflict, NotFound, NotReady, OfferGone

SCRIPTS = (
    "enqueue",
    "match_agent",
    "accept",
    "reject",
    "complete",
    "release",
    "customer_end",
    "agent_presence",
    "timers",
    "set_agent",
    "set_queue",
    "restore",
)

PRIORITY_SPAN = 10**13  # ms: rank score = (100 - priority) * span + virtual enqueue ms


def rank_score(priority: int, venq_ms: int) -> int:
    return (100 - priority) * PRIORITY_SPAN + venq_ms


def load_script_source(name: str) -> str:
    """One script as it is registered: the channel table's header, ``lib.lua``, then the script."""
    lua = resources.files("router.routing") / "lua"
    return "\n".join((lua_header(), (lua / "lib.lua").read_text(), (lua / f"{name}.lua").read_text()))


@dataclass(frozen=True)
class Keys:
    prefix: str

    @classmethod
    def for_namespace(cls, namespace: str) -> Keys:
        return cls("{" + namespace + "}")

    @property
    def built(self) -> str:
        return f"{self.prefix}:built"

    @property
    def events(self) -> str:
        return f"{self.prefix}:events"

    @property
    def timers(self) -> str:
        return f"{self.prefix}:timers"

    @property
    def connected(self) -> str:
        return f"{self.prefix}:connected"

    @property
    def rebuild_lock(self) -> str:
        return f"{self.prefix}:rebuilding"

    def queue(self, q: str) -> str:
        return f"{self.prefix}:q:{q}"

    def queue_age(self, q: str) -> str:
        return f"{self.prefix}:qage:{q}"

    def queue_avail(self, q: str) -> str:
        return f"{self.prefix}:qavail:{q}"

    def queue_agents(self, q: str) -> str:
        return f"{self.prefix}:qagents:{q}"

    def queue_stats(self, q: str) -> str:
        return f"{self.prefix}:qstats:{q}"

    def agent(self, a: str) -> str:
        return f"{self.prefix}:a:{a}"

    def agent_offers(self, a: str) -> str:
        return f"{self.prefix}:ao:{a}"

    def agent_work(self, a: str) -> str:
        return f"{self.prefix}:aw:{a}"

    def interaction(self, i: str) -> str:
        return f"{self.prefix}:i:{i}"

    def offer(self, o: str) -> str:
        return f"{self.prefix}:o:{o}"

    def node(self, n: str) -> str:
        return f"{self.prefix}:node:{n}"


@dataclass
class EnqueueResult:
    status: str  # waiting | offered | assigned | wrapup
    offer_id: str | None
    position: int | None


@dataclass
class Presence:
    state: str
    since: float


class Engine:
    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.keys = Keys.for_namespace(namespace)
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(load_script_source(name)) for name in SCRIPTS
        }

    async def _run(self, name: str, *args: Any) -> Any:
        return await self._scripts[name](keys=[self.keys.built], args=[self.keys.prefix, *args])

    @staticmethod
    def _check(result: Any, *, what: str = "") -> Any:
        if isinstance(result, int) and result < 0:
            if result == -1:
                raise NotReady("the live routing index is being rebuilt")
            raise Conflict(f"{what} refused ({result})")
        return result

    # ------------------------------------------------------------ index state

    async def is_built(self) -> str | None:
        value = await self.redis.get(self.keys.built)
        return str(value) if value is not None else None

    async def restore(self, items: list[dict[str, Any]], grace_ms: int) -> int:
        if not items:
            return 0
        return int(await self._run("restore", json.dumps(items), grace_ms))

    async def set_agent(
        self, agent_id: str, *, capacity: dict[str, int], voice_blocks: bool, queues: list[str]
    ) -> int:
        return int(
            await self._run(
                "set_agent", agent_id, "1" if voice_blocks else "0", json.dumps(capacity), ",".join(queues)
            )
        )

    async def set_queue(self, queue_id: str, *, timeout_ms: int, wrapup_ms: int, agents: list[str]) -> int:
        return int(await self._run("set_queue", queue_id, timeout_ms, wrapup_ms, ",".join(agents)))

    # ------------------------------------------------------------ routing

    async def enqueue(
        self,
        interaction_id: str,
        queue: str,
        channel: str,
        priority: int,
        venq_ms: int,
        arrival_ms: int,
        exclude: str | None = None,
    ) -> EnqueueResult:
        res = self._check(
            await self._run(
                "enqueue",
                interaction_id,
                queue,
                channel,
                rank_score(priority, venq_ms),
                arrival_ms,
                exclude or "",
            )
        )
        status, offer, pos = str(res[0]), str(res[1]), int(res[2])
        return EnqueueResult(status, offer or None, pos if status == "waiting" else None)

    async def match_agent(self, agent_id: str) -> int:
        return int(self._check(await self._run("match_agent", agent_id)))

    async def accept(self, agent_id: str, offer_id: str) -> str:
        res = await self._run("accept", agent_id, offer_id)
        if res == -2:
            raise OfferGone(f"offer {offer_id} is no longer open (it timed out or was revoked)")
        if res == -3:
            raise OfferGone(f"offer {offer_id} is not yours")
        return str(self._check(res))

    async def reject(self, agent_id: str, offer_id: str) -> str:
        res = await self._run("reject", agent_id, offer_id)
        if res in (-2, -3):
            raise OfferGone(f"offer {offer_id} is no longer open")
        return str(self._check(res))

    async def complete(self, agent_id: str, interaction_id: str, wrapup_ms: int) -> int:
        res = await self._run("complete", agent_id, interaction_id, wrapup_ms)
        if res == -2:
            raise NotFound(f"interaction {interaction_id} is not held by agent {agent_id}")
        if res == -3:
            raise Conflict(f"interaction {interaction_id} is already in wrap-up")
        return int(self._check(res))

    async def release(self, agent_id: str, interaction_id: str, reason: str) -> None:
        res = await self._run("release", agent_id, interaction_id, reason)
        if res == -2:
            raise NotFound(f"interaction {interaction_id} is not held by agent {agent_id}")
        self._check(res)

    async def customer_end(self, interaction_id: str) -> str:
        return str(self._check(await self._run("customer_end", interaction_id)))

    async def presence(
        self, agent_id: str, op: str, session: str, node: str, state: str = "away", grace_ms: int = 0
    ) -> Presence | None:
        res = await self._run("agent_presence", agent_id, op, session, node, state, grace_ms)
        if res == -2:
            return None
        if res == -3:
            raise NotFound(f"agent {agent_id} is not configured")
        res = self._check(res)
        return Presence(str(res[0]), int(res[1]) / 1000)

    async def fire_timers(self, limit: int = 200) -> list[tuple[str, str, str]]:
        res = self._check(await self._run("timers", limit))
        return [(str(res[k]), str(res[k + 1]), str(res[k + 2])) for k in range(0, len(res), 3)]

    # ------------------------------------------------------------ reads

    async def _hash(self, key: str) -> dict[str, str]:
        return {str(k): str(v) for k, v in (await self.redis.hgetall(key)).items()}

    async def _members(self, key: str) -> list[str]:
        return sorted(str(m) for m in await self.redis.smembers(key))

    async def interaction_live(self, interaction_id: str) -> dict[str, str]:
        return await self._hash(self.keys.interaction(interaction_id))

    async def position(self, queue: str, interaction_id: str) -> int | None:
        rank: int | None = await self.redis.zrank(self.keys.queue(queue), interaction_id)  # type: ignore[assignment]
        return None if rank is None else rank + 1

    async def agent_live(self, agent_id: str) -> dict[str, str]:
        return await self._hash(self.keys.agent(agent_id))

    async def agent_offers(self, agent_id: str) -> list[dict[str, str]]:
        out = []
        for oid in await self._members(self.keys.agent_offers(agent_id)):
            o = await self._hash(self.keys.offer(oid))
            if o:
                out.append({"offer_id": oid, **o})
        return out

    async def agent_work(self, agent_id: str) -> list[str]:
        return await self._members(self.keys.agent_work(agent_id))

    async def offer(self, offer_id: str) -> dict[str, str]:
        return await self._hash(self.keys.offer(offer_id))
