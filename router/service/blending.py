"""Blended agents: the ``[[blending]]`` rules (docs/blending.md).

One process of the routing domain evaluates every rule about once a second: the holder of a short lease
in Redis (``blending.lua`` takes and renews it), so however many router processes run, one measures and
one switches. Each rule reads its channel's live figure (the estimated wait of a new contact, from the
live index; or today's service level, from the record). The rule's state lives in Redis with the lease:
the condition holding for ``for_seconds`` puts it in force, being clear for ``restore_after_seconds``
takes it out, and each switch is one ``blending_started`` / ``blending_ended`` event on the stream
(webhooks ``blending.started`` / ``blending.ended``, the wallboard's blending panel).

The capacities follow the rules' states: the rules in force give each agent of their group their
capacities (in rule order, a later rule's channel over an earlier one's), kept in the live index's
``ablend`` hash so that every process's directory writes the same capacity (``Directory.sync_agent``), and
written through ``set_agent.lua``, the one script that sets an agent's capacity, so matching sees it at
once. A lowered capacity only stops new offers: work held stays with the agent until it ends. Every round
also puts back what a concurrent directory write may have undone.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence

import asyncpg
import structlog
from aiohttp import web

from context_store import blending as blending_store
from router.contracts.blending import BlendingRule, BlendingStatus, rule_ids
from router.contracts.channels import Channel
from router.errors import NotReady
from router.node import Node
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.stats import Statistics, start_of_day

log = structlog.get_logger("router.service.blending")

LEASE_ROUNDS = 3
"""The lease lasts this many rounds: a holder that stops is replaced within about three seconds."""
WAITING_READ = 1000
"""Waiting contacts of a queue read per round to count those on the rule's channel."""


class Blending:
    """The leader-only duty that evaluates the blending rules and switches the groups' capacities."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        stats: Statistics,
        node: Node,
        rules: Sequence[BlendingRule],
        *,
        timezone: str = "UTC",
        interval_seconds: float = 1.0,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.stats = stats
        self.node = node
        self.rules = list(rules)
        self.names = rule_ids(self.rules)
        self.timezone = timezone
        self.interval = interval_seconds
        self.leading = False
        """Whether this process held the lease at its last round."""

    # ------------------------------------------------------------ measuring

    async def channel_ewt(self, channel: str) -> float:
        """The estimated wait of a new contact on ``channel``: the longest over the queues that take it
        (0 where none of its contacts waits; infinite where some wait and nobody is staffed)."""
        keys = self.engine.keys
        worst = 0.0
        for queue_id, cfg in sorted(self.directory.queues.items()):
            if channel not in cfg.channels:
                continue
            waiting = [
                str(i) for i in await self.engine.redis.zrange(keys.queue(queue_id), 0, WAITING_READ - 1)
            ]
            if not waiting:
                continue
            pipe = self.engine.redis.pipeline(transaction=False)
            for iid in waiting:
                pipe.hget(keys.interaction(iid), "ch")
            ahead = sum(1 for ch in await pipe.execute() if ch == channel)
            if not ahead:
                continue
            ewt = await self.stats.estimate_wait(queue_id, channel, ahead + 1)
            worst = max(worst, math.inf if ewt is None else ewt.seconds)
        return worst

    async def channel_service_level(self, channel: str) -> float | None:
        counts = await blending_store.channel_service(
            self.pool, self.engine.namespace, channel, start_of_day(self.timezone)
        )
        return counts.service_level

    async def measure(self, rule: BlendingRule) -> tuple[bool, float | None]:
        """Whether the rule's condition holds now, and the figure it was judged on."""
        when = rule.when
        if when.ewt_over_seconds is not None:
            ewt = await self.channel_ewt(rule.channel.value)
            return ewt > when.ewt_over_seconds, ewt
        assert when.service_level_under is not None
        sl = await self.channel_service_level(rule.channel.value)
        return sl is not None and sl < when.service_level_under, sl

    # ------------------------------------------------------------ one round

    async def round(self) -> bool:
        """Evaluate every rule once and bring the capacities in line. False when another process leads."""
        if not self.rules:
            return False
        lease_ms = int(self.interval * LEASE_ROUNDS * 1000) + 1000
        active: list[bool] = []
        for name, rule in zip(self.names, self.rules, strict=True):
            holds, value = await self.measure(rule)
            condition, threshold = _condition(rule)
            state = await self.engine.blending(
                self.node.id,
                lease_ms,
                name,
                holds=holds,
                for_ms=int(rule.for_seconds * 1000),
                restore_ms=int(rule.restore_after_seconds * 1000),
                data={
                    "channel": rule.channel.value,
                    "group": rule.agents.group,
                    "capacity": {ch.value: n for ch, n in rule.capacity.items()},
                    "condition": condition,
                    "threshold": threshold,
                    "value": None if value is None or math.isinf(value) else round(value, 3),
                },
            )
            if state is None:
                self.leading = False
                return False
            if state.switched:
                log.info(
                    "blending.started" if state.active else "blending.ended",
                    rule=name,
                    channel=rule.channel.value,
                    group=rule.agents.group,
                    value=value,
                )
            active.append(state.active)
        self.leading = True
        await self.apply(active)
        return True

    def overrides(self, active: Sequence[bool]) -> dict[str, dict[str, int]]:
        """Per agent, the capacities the rules in force give it (rule order: later over earlier)."""
        out: dict[str, dict[str, int]] = {}
        for rule, on in zip(self.rules, active, strict=True):
            if not on:
                continue
            for agent_id, cfg in self.directory.agents.items():
                if rule.agents.group in cfg.groups:
                    out.setdefault(agent_id, {}).update({ch.value: n for ch, n in rule.capacity.items()})
        return out

    async def apply(self, active: Sequence[bool]) -> None:
        """Write the rules' capacities (and take back those of rules no longer in force): the ``ablend``
        hash first, then ``set_agent.lua`` for every agent whose live capacity differs."""
        keys = self.engine.keys
        wanted = self.overrides(active)
        held = {str(k): str(v) for k, v in (await self.engine.redis.hgetall(keys.agent_blend)).items()}
        gone = [a for a in held if a not in wanted]
        fresh = {a: json.dumps(cap, sort_keys=True) for a, cap in wanted.items()}
        changed = {a: v for a, v in fresh.items() if held.get(a) != v}
        if gone:
            await self.engine.redis.hdel(keys.agent_blend, *gone)
        if changed:
            await self.engine.redis.hset(
                keys.agent_blend, items=[x for pair in changed.items() for x in pair]
            )
        agents = sorted(a for a in {*wanted, *gone} if a in self.directory.agents)
        if not agents:
            return
        channels = [ch.value for ch in Channel]
        pipe = self.engine.redis.pipeline(transaction=False)
        for a in agents:
            pipe.hmget(keys.agent(a), [f"cap:{ch}" for ch in channels])
        for agent_id, live in zip(agents, await pipe.execute(), strict=True):
            own = self.directory.agents[agent_id].full_capacity()
            want = {**own, **wanted.get(agent_id, {})}
            have = {ch: int(v) if v is not None else -1 for ch, v in zip(channels, live, strict=True)}
            if any(have[ch] != want.get(ch, 0) for ch in channels):
                await self.directory.sync_agent(agent_id, fresh.get(agent_id, ""))

    # ------------------------------------------------------------ status

    async def status(self) -> list[BlendingStatus]:
        """Every rule as the wallboard shows it (read from the live index: the same in every process)."""
        pipe = self.engine.redis.pipeline(transaction=False)
        for name in self.names:
            pipe.hmget(self.engine.keys.blend(name), ["active", "since"])
        states: list[list[str | None]] = await pipe.execute() if self.rules else []
        out = []
        for name, rule, (on, since) in zip(self.names, self.rules, states, strict=True):
            condition, threshold = _condition(rule)
            out.append(
                BlendingStatus(
                    rule=name,
                    channel=rule.channel.value,
                    group=rule.agents.group,
                    active=on == "1",
                    since=int(since) / 1000 if on == "1" and since else None,
                    capacity={ch.value: n for ch, n in rule.capacity.items()},
                    condition=condition,
                    threshold=threshold,
                )
            )
        return out

    async def run(self) -> None:
        """Evaluate the rules every ``interval`` seconds for as long as the process runs; a failed round is
        logged and the next one runs."""
        task = asyncio.current_task()
        while self.rules:
            started = time.monotonic()
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except NotReady:
                pass
            except Exception:  # the duty must survive a failed round (Redis restarting); it is logged
                log.exception("blending.round_failed")
            if task is not None and task.cancelling():
                # a cancellation a round swallowed (redis-py can) still stops the loop, as the
                # reconciler's duties do
                raise asyncio.CancelledError
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))


def _condition(rule: BlendingRule) -> tuple[str, float]:
    when = rule.when
    if when.ewt_over_seconds is not None:
        return "ewt_over_seconds", when.ewt_over_seconds
    assert when.service_level_under is not None
    return "service_level_under", when.service_level_under


BLENDING = web.AppKey("blending", Blending)
