"""The routing engine: the live index in Redis, changed only by the Lua scripts in ``router/routing/lua``.

Every method here is one atomic script call (or a read); matching never takes several round
trips, so any number of router processes can share one Redis. Negative script results are
mapped to typed errors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web
from redis.commands.core import AsyncScript

from router.backends import RedisClient
from router.contracts.channels import lua_header as channels_header
from router.routing.keys import Keys
from router.routing.pipe import pipe_for
from router.routing.script_errors import ScriptError, raise_for
from router.routing.script_errors import lua_header as errors_header

SCRIPTS = (
    "enqueue",
    "match_agent",
    "accept",
    "unaccept",
    "reject",
    "unreject",
    "rematch",
    "complete",
    "uncomplete",
    "release",
    "customer_end",
    "agent_presence",
    "timers",
    "set_agent",
    "set_queue",
    "restore",
    "metrics_lease",
    "blending",
    "callback",
    "callback_result",
    "campaign_rate",
    "queue_rules",
    "move",
    "queue_agents",
    "presence_sweep",
)

PRIORITY_SPAN = 10**13  # ms: rank score = (100 - priority) * span + virtual enqueue ms


def rank_score(priority: int, venq_ms: int) -> int:
    return (100 - priority) * PRIORITY_SPAN + venq_ms


def load_script_source(name: str) -> str:
    """One script as it is registered: headers generated from the channel table and the error-code
    table, ``lib.lua``, then the script."""
    lua = resources.files("router.routing") / "lua"
    return "\n".join(
        (
            channels_header(),
            errors_header(),
            (lua / "lib.lua").read_text(),
            (lua / f"{name}.lua").read_text(),
        )
    )


@dataclass
class EnqueueResult:
    status: str  # waiting | offered | assigned | wrapup
    offer_id: str | None
    position: int | None


@dataclass(frozen=True)
class Step:
    """A widening step of a queue: after ``after_ms`` of waiting these minimum levels replace its skills."""

    after_ms: int
    levels: dict[str, int]


@dataclass(frozen=True)
class QueueAgents:
    """A queue's agents counted (``queue_agents.lua``)."""

    available: int
    """Connected, holding no work, state available."""
    busy: int
    """Connected and holding work."""
    wrapup: int
    """Holding at least one interaction in wrap-up."""
    by_state: dict[str, int]
    """``offline`` when not connected, ``busy`` when holding work, otherwise the presence state."""


@dataclass(frozen=True)
class Accepted:
    interaction_id: str
    callback: bool
    """The interaction is a callback (the agent calls the customer back)."""


@dataclass(frozen=True)
class Rejected:
    interaction_id: str
    excluded_until_ms: int
    """The agent may be offered it again from this time (the queue's reject cooldown)."""


@dataclass
class Presence:
    state: str
    since: float
    epoch: int = 0
    """The session's place in the order of the agent's connects (``agent_presence.lua``)."""
    reason: str = ""
    """The not-ready reason of the state ("" when none)."""


@dataclass(frozen=True)
class BlendState:
    """A blending rule after one evaluation: in force or not, since when, whether this call switched it."""

    active: bool
    since_ms: int
    switched: bool


class Engine:
    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace
        """The routing domain: its Redis keys share this hash tag, its rows in PostgreSQL carry it."""
        self.keys = Keys.for_namespace(namespace)
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(load_script_source(name)) for name in SCRIPTS
        }
        # on one server the scripts go over a lean connection of their own (``pipe.py``: a fifth of
        # redis-py's CPU per call); on a Redis Cluster or over TLS through redis-py
        self._pipe = pipe_for(redis)

    async def _run(self, name: str, *args: Any) -> Any:
        script = self._scripts[name]
        if self._pipe is not None:
            return await self._pipe.evalsha(
                script.sha, script.script, [self.keys.built], [self.keys.prefix, *args]
            )
        return await script(keys=[self.keys.built], args=[self.keys.prefix, *args])

    async def close(self) -> None:
        """Close the scripts' own connections (the redis-py client is its owner's to close)."""
        if self._pipe is not None:
            await self._pipe.close()

    @staticmethod
    def _check(result: Any, **context: str) -> Any:
        """A script's answer, or the typed error its negative code stands for (``script_errors``)."""
        if isinstance(result, int) and result < 0:
            raise_for(result, **context)
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
        self,
        agent_id: str,
        *,
        capacity: dict[str, int],
        voice_blocks: bool,
        queues: list[str],
        skills: dict[str, int] | None = None,
    ) -> int:
        return int(
            await self._run(
                "set_agent",
                agent_id,
                "1" if voice_blocks else "0",
                json.dumps(capacity),
                ",".join(queues),
                json.dumps(skills or {}),
            )
        )

    async def set_queue(
        self,
        queue_id: str,
        *,
        timeout_ms: int,
        wrapup_ms: int,
        agents: list[str],
        strategy: str = "longest_idle",
        skills: dict[str, int] | None = None,
        steps: list[Step] | None = None,
        cooldown_ms: int = 30_000,
    ) -> int:
        """One queue's live configuration. ``agents`` is the queue's pool (every agent some step admits);
        ``skills`` and ``steps`` decide per interaction, by how long it has waited, who in the pool fits."""
        ordered = sorted(steps or [], key=lambda s: s.after_ms)
        return int(
            await self._run(
                "set_queue",
                queue_id,
                timeout_ms,
                wrapup_ms,
                ",".join(agents),
                strategy,
                json.dumps(skills or {}),
                json.dumps([{"after_ms": s.after_ms, "levels": s.levels} for s in ordered]),
                cooldown_ms,
            )
        )

    async def queue_rules(
        self,
        queue_id: str,
        *,
        overflow: list[tuple[int, str]],
        hours: list[tuple[int, int]] | None,
        until_ms: int,
    ) -> int:
        """One queue's waiting rules (``queue_rules.lua``): overflow rules (after ms, target queue) and, for a
        queue that holds its work while closed, its open periods (from ms, to ms) known up to ``until_ms``
        (``hours`` None: it never holds work back). Returns the offers made if it is open now."""
        rules = [{"after_ms": ms, "queue": q} for ms, q in sorted(overflow)]
        return int(
            await self._run(
                "queue_rules",
                queue_id,
                json.dumps(rules) if rules else "[]",
                json.dumps([[a, b] for a, b in hours]) if hours is not None else "",
                until_ms,
            )
        )

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
        *,
        preferred: list[str] | None = None,
        preferred_ms: int = 0,
        avoid: list[str] | None = None,
        directed_by: str | None = None,
        warm_of: str | None = None,
    ) -> EnqueueResult:
        """Queue an interaction and match it. ``preferred`` agents alone are offered it for
        ``preferred_ms`` while one of them is present; with ``directed_by`` (the agent who transfers it to
        the one preferred agent) a reject, a miss or an absent target ends that at once, and the sender
        is told by a ``transfer_failed`` event. With ``warm_of`` (the interaction the sender keeps) a
        failed transfer removes this copy instead of queueing it."""
        res = self._check(
            await self._run(
                "enqueue",
                interaction_id,
                queue,
                channel,
                rank_score(priority, venq_ms),
                arrival_ms,
                exclude or "",
                ",".join(preferred or []),
                preferred_ms,
                ",".join(avoid or []),
                venq_ms,
                directed_by or "",
                warm_of or "",
            )
        )
        status, offer, pos = str(res[0]), str(res[1]), int(res[2])
        return EnqueueResult(status, offer or None, pos if status == "waiting" else None)

    async def move(self, interaction_id: str, queue: str) -> tuple[str, str]:
        """Move a waiting interaction to ``queue`` at its place (``move.lua``): ("moved", the queue it left),
        ("same", queue), or its live status and queue when it is not waiting ("" when not live)."""
        res = self._check(await self._run("move", interaction_id, queue))
        return str(res[0]), str(res[1])

    async def presence_sweep(self, own_agents: Sequence[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
        """One heartbeat's checks (``presence_sweep.lua``): the connected agents whose process stopped
        beating, as (agent, node, session), and those of ``own_agents`` the live index lost."""
        dead, lost = await self._run("presence_sweep", *own_agents)
        flat = [str(x) for x in dead]
        return [(flat[k], flat[k + 1], flat[k + 2]) for k in range(0, len(flat), 3)], [str(a) for a in lost]

    async def queue_agents(self, queue: str) -> QueueAgents:
        """The queue's agents counted in one script (the supervisors' queue row)."""
        res = await self._run("queue_agents", queue)
        pairs = res[3:]
        by_state = {str(pairs[k]): int(pairs[k + 1]) for k in range(0, len(pairs), 2)}
        return QueueAgents(int(res[0]), int(res[1]), int(res[2]), dict(sorted(by_state.items())))

    async def waiting(self, queue: str) -> int:
        """How many interactions wait in ``queue`` (offered ones are not waiting)."""
        return int(await self.redis.zcard(self.keys.queue(queue)))

    async def match_agent(self, agent_id: str) -> int:
        return int(self._check(await self._run("match_agent", agent_id)))

    async def accept(self, agent_id: str, offer_id: str) -> Accepted:
        res = self._check(await self._run("accept", agent_id, offer_id), offer=offer_id, agent=agent_id)
        return Accepted(str(res[0]), bool(int(res[1])))

    async def unaccept(self, agent_id: str, interaction_id: str) -> None:
        """Take back an accept the record could not follow: back to the queue at its original place."""
        res = await self._run("unaccept", agent_id, interaction_id)
        self._check(res, interaction=interaction_id, agent=agent_id)

    async def reject(self, agent_id: str, offer_id: str) -> Rejected:
        """Decline an offer: back to the queue at its place, the agent excluded for the queue's reject
        cooldown. Nothing is matched: :meth:`rematch` follows once the record is written,
        :meth:`unreject` if it could not be."""
        res = self._check(await self._run("reject", agent_id, offer_id), offer=offer_id, agent=agent_id)
        return Rejected(str(res[0]), int(res[1]))

    async def unreject(
        self, agent_id: str, offer_id: str, interaction_id: str, deadline_ms: int, why: str = ""
    ) -> None:
        """Take back a reject the record could not follow: the same offer, with the same deadline (and
        the same ``why``, the offer's JSON explanation)."""
        res = await self._run("unreject", agent_id, offer_id, interaction_id, deadline_ms, why)
        self._check(res, offer=offer_id, interaction=interaction_id, agent=agent_id)

    async def rematch(self, interaction_id: str, agent_id: str) -> int:
        """Match a declined interaction and the agent who declined it; the number of offers made."""
        return int(self._check(await self._run("rematch", interaction_id, agent_id)))

    async def complete(self, agent_id: str, interaction_id: str, wrapup_ms: int) -> int:
        res = await self._run("complete", agent_id, interaction_id, wrapup_ms)
        return int(self._check(res, interaction=interaction_id, agent=agent_id))

    async def uncomplete(self, agent_id: str, interaction_id: str, wrapup_until_ms: int) -> None:
        """Take back a complete the record could not follow: assigned again, the wrap-up timer gone."""
        res = await self._run("uncomplete", agent_id, interaction_id, wrapup_until_ms)
        self._check(res, interaction=interaction_id, agent=agent_id)

    async def release(self, agent_id: str, interaction_id: str, reason: str) -> None:
        res = await self._run("release", agent_id, interaction_id, reason)
        self._check(res, interaction=interaction_id, agent=agent_id)

    async def customer_end(self, interaction_id: str) -> str:
        return str(self._check(await self._run("customer_end", interaction_id)))

    async def presence(
        self,
        agent_id: str,
        op: str,
        session: str,
        node: str,
        state: str = "away",
        grace_ms: int = 0,
        reason: str = "",
    ) -> Presence | None:
        """Connect, change state (with a not-ready reason) or disconnect one desktop session; every change
        of presence is an ``agent_state`` event (``agent_presence.lua``)."""
        res = await self._run("agent_presence", agent_id, op, session, node, state, grace_ms, reason)
        if res == ScriptError.STALE_SESSION:
            return None  # a session that is no longer current changes nothing
        res = self._check(res, agent=agent_id, session=session)
        return Presence(str(res[0]), int(res[1]) / 1000, int(res[2]), str(res[3]))

    async def fire_timers(self, limit: int = 200, missed_state: str = "away") -> list[tuple[str, str, str]]:
        """Fire what is due (``timers.lua`` lists the kinds); a missed offer puts its agent in
        ``missed_state`` with reason ``missed``."""
        res = self._check(await self._run("timers", limit, missed_state))
        return [(str(res[k]), str(res[k + 1]), str(res[k + 2])) for k in range(0, len(res), 3)]

    async def callback(self, interaction_id: str, number: str, not_before_ms: int) -> tuple[str, str | None]:
        """Mark a waiting interaction a callback at its rank (``callback.lua``); held back until
        ``not_before_ms`` when that is later than now. Its live status, and an offer made at once."""
        res = await self._run("callback", interaction_id, number, not_before_ms)
        res = self._check(res, interaction=interaction_id)
        return str(res[0]), str(res[1]) or None

    async def callback_result(
        self, agent_id: str, interaction_id: str, outcome: str, retry_ms: int | None, attempt: int
    ) -> tuple[str, int]:
        """A callback call's outcome (``callback_result.lua``): ``connected``, ``retry`` (held back
        ``retry_ms`` at its rank; the time it waits again, ms) or ``ended`` (``retry_ms`` None)."""
        res = await self._run(
            "callback_result",
            agent_id,
            interaction_id,
            outcome,
            -1 if retry_ms is None else retry_ms,
            attempt,
        )
        res = self._check(res, interaction=interaction_id, agent=agent_id)
        return str(res[0]), int(res[1])

    async def metrics_lease(self, node_id: str, lease_ms: int) -> bool:
        """Take or renew the lease of the process exporting the deployment's gauges; True if it is ours."""
        return int(await self._run("metrics_lease", node_id, lease_ms)) == 1

    async def blending(
        self,
        node_id: str,
        lease_ms: int,
        rule: str,
        *,
        holds: bool,
        for_ms: int,
        restore_ms: int,
        data: dict[str, Any],
    ) -> BlendState | None:
        """Evaluate one blending rule (``blending.lua``): None when another process holds the lease."""
        res = await self._run(
            "blending", node_id, lease_ms, rule, "1" if holds else "0", for_ms, restore_ms, json.dumps(data)
        )
        if int(res[0]) == 0:
            return None
        return BlendState(active=int(res[1]) == 1, since_ms=int(res[2]), switched=int(res[3]) == 1)

    # ------------------------------------------------------------ reads

    async def campaign_rate(self, campaign_id: str, rate_per_second: float) -> float:
        """Book a campaign's next send under its rate (``campaign_rate.lua``): 0 when it may go now, else
        the seconds to wait before asking again."""
        interval_us = max(1, round(1_000_000 / rate_per_second))
        waited = await self._run("campaign_rate", campaign_id, interval_us)
        return int(waited) / 1_000_000

    async def _hash(self, key: str) -> dict[str, str]:
        return {str(k): str(v) for k, v in (await self.redis.hgetall(key)).items()}

    async def _members(self, key: str) -> list[str]:
        return sorted(str(m) for m in await self.redis.smembers(key))

    async def interaction_live(self, interaction_id: str) -> dict[str, str]:
        return await self._hash(self.keys.interaction(interaction_id))

    async def position(self, queue: str, interaction_id: str) -> int | None:
        rank: int | None = await self.redis.zrank(self.keys.queue(queue), interaction_id)  # type: ignore[assignment]
        return None if rank is None else rank + 1

    async def held_place(self, queue: str, interaction_id: str) -> tuple[int, float] | None:
        """A callback held back (``not_before`` or a retry): the place it keeps (1 + those waiting ahead of
        its rank score) and when it is released (unix ms); None when it is not held back."""
        st, score = await self.redis.hmget(self.keys.interaction(interaction_id), "st", "score")
        if st != "held" or score is None:
            return None
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(self.keys.queue(queue), "-inf", "(" + str(score))
        pipe.zscore(self.keys.timers, "b:" + interaction_id)
        ahead, until = await pipe.execute()
        return int(ahead) + 1, float(until or 0)

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


ENGINE = web.AppKey("engine", Engine)
