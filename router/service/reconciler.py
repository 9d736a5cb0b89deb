"""Keeping the live index true to the record.

- **Rebuild**: when Redis has no index (first start, flush, restart), one process takes a lock and
  rebuilds it from PostgreSQL: directory, every interaction not ended (waiting ones at their original
  rank, held ones on their agents). Scripts answer "not ready" until it is done.
- **Repair**: periodically, interactions open in PostgreSQL but missing from Redis are restored,
  and interactions ended in PostgreSQL but still live in Redis are removed (a crash between the
  two writes).
- **Timers**: offer deadlines, wrap-up ends, reconnect grace periods, widening steps, preference windows
  and reject cooldowns fire from a Redis sorted set; whichever process fires one records what the record
  needs in PostgreSQL (the decision log records the rest from the event stream).
- **Presence**: each process keeps a heartbeat key; agents whose process died are disconnected.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import asyncpg
import structlog
from aiohttp import web

from context_store import callbacks, interactions, messages
from context_store.records import OpenInteraction
from router.config import RoutingSection
from router.errors import NotFound, NotReady
from router.node import Node
from router.routing.directory import Directory
from router.routing.engine import Engine, rank_score
from router.service.outbound import Outbound
from router.service.work import Work


class Desktop(Protocol):
    """A desktop socket open on this process (the hub's sessions, by agent id)."""

    agent_id: str
    session_id: str
    state: str
    reason: str

    @property
    def closed(self) -> bool: ...


log = structlog.get_logger("router.service.reconciler")

BATCH = 500
REPAIR_AFTER_MS = 10_000  # a gap older than this is a crash's leftover, not a write in flight


def _live_item(it: OpenInteraction) -> dict[str, Any]:
    st = {"queued": "waiting", "assigned": "assigned", "wrapup": "wrapup"}[it.status]
    return {
        "id": str(it.id),
        "q": it.queue_id,
        "ch": it.channel,
        "score": rank_score(it.priority, it.venq_ms),
        "arr": int(it.created_ms),
        "st": st,
        "agent": it.agent_id or "",
        "wrapup_until_ms": int((it.wrapup_until or time.time()) * 1000),
        "venq": it.venq_ms,
        "avoid": ",".join(it.avoid_agents),
        "ix": {agent: int(until) for agent, until in it.exclusions.items()},
    }


async def _with_callbacks(pool: asyncpg.Pool, namespace: str, items: list[dict[str, Any]]) -> None:
    """Mark the callbacks among restored items, with the time a held-back one waits again."""
    open_callbacks = {str(c.interaction_id): c for c in await callbacks.open_callbacks(pool, namespace)}
    for item in items:
        cb = open_callbacks.get(item["id"])
        if cb is not None:
            item["cb"] = cb.number
            if cb.held_until is not None:
                item["held_until"] = int(cb.held_until.timestamp() * 1000)


NODE_TTL_BEATS = 10  # a process is declared dead after missing this many heartbeats


async def _forever(name: str, interval: float, step: Callable[[], Awaitable[object]]) -> None:
    """Run one duty every ``interval`` seconds; a failed round is logged and the next one runs."""
    task = asyncio.current_task()
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except NotReady:
            pass
        except Exception:  # the loop must survive a failed round (Redis restarting); it is logged
            log.exception("reconciler.round_failed", duty=name)
            await asyncio.sleep(1)
        if task is not None and task.cancelling():
            # a cancellation that a round swallowed still stops the loop: redis-py's asyncio client
            # can return normally from a command whose task was cancelled during it
            raise asyncio.CancelledError
        await asyncio.sleep(interval)


class Reconciler:
    """Keeps this process's part of the live index true to the record (see the module's docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        node: Node,
        desktops: Mapping[str, Desktop],
        work: Work,
        outbound: Outbound | None,
        settings: RoutingSection,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.node = node
        self.desktops = desktops
        self.work = work
        self.outbound = outbound
        self.settings = settings
        self.built_generation: str | None = None
        self.repair_rounds = 0
        self._held_but_closed: dict[str, str] = {}
        """Held live work whose record was final at the last repair round: interaction id -> agent."""
        """Periodic repair rounds finished by this process (the first runs at start)."""

    async def rebuild(self) -> bool:
        """Rebuild the live index if it is missing. Returns True if this process rebuilt it."""
        keys = self.engine.keys
        if await self.engine.redis.exists(keys.built):
            return False
        if not await self.engine.redis.set(keys.rebuild_lock, self.node.id, nx=True, px=60_000):
            return False
        try:
            started = time.perf_counter()
            await self.directory.reload()
            await self.directory.sync_live()
            open_work = await interactions.open_all(self.pool, self.engine.namespace)
            items = [_live_item(it) for it in open_work if it.status == "queued" or it.agent_id]
            await _with_callbacks(self.pool, self.engine.namespace, items)
            for k in range(0, len(items), BATCH):
                await self.engine.restore(items[k : k + BATCH], self.node.grace_ms)
            # unique across flushes (a counter in Redis would restart at 1 and hide the rebuild)
            generation = f"{int(time.time() * 1000)}-{self.node.id}"
            await self.engine.redis.set(keys.built, generation)
            log.info(
                "index.rebuilt",
                interactions=len(items),
                seconds=round(time.perf_counter() - started, 3),
                generation=generation,
            )
            return True
        finally:
            await self.engine.redis.delete(keys.rebuild_lock)

    async def wait_built(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            await self.rebuild()
            gen = await self.engine.is_built()
            if gen is not None:
                return gen
            if time.monotonic() > deadline:
                raise NotReady("the live index was not rebuilt in time")
            await asyncio.sleep(0.1)

    async def reannounce(self) -> None:
        """After a rebuild, tell the new index about the desktops connected to this process."""
        for session in list(self.desktops.values()):
            await self.engine.presence(
                session.agent_id,
                "connect",
                session.session_id,
                self.node.id,
                session.state,
                reason=session.reason,
            )

    async def repair(self) -> int:
        """Repair what a crash between the two writes leaves, and only that.

        Normal work always has a moment where PostgreSQL and Redis disagree (ingest commits, then enqueues;
        a script finishes work, then the record is closed), so an interaction is repaired only when its
        record has not changed for ``REPAIR_AFTER_MS`` and both stores still disagree when looked at again.
        """
        now_ms = time.time() * 1000
        settled = [
            it
            for it in await interactions.open_all(self.pool, self.engine.namespace)
            if now_ms - max(it.created_ms, it.changed_ms or 0) > REPAIR_AFTER_MS
        ]
        fixed = 0
        pipe = self.engine.redis.pipeline(transaction=False)
        for it in settled:
            pipe.hget(self.engine.keys.interaction(str(it.id)), "st")
        live_states: list[str | None] = await pipe.execute() if settled else []
        for it, st in zip(settled, live_states, strict=True):
            iid = str(it.id)
            if st is None:
                if it.status == "queued":
                    await self.engine.enqueue(
                        iid,
                        it.queue_id,
                        it.channel,
                        it.priority,
                        it.venq_ms,
                        int(it.created_ms),
                        avoid=it.avoid_agents,
                    )
                elif it.status in ("assigned", "wrapup"):
                    # held work is only dropped from the live index when it ends (a flush is rebuilt
                    # whole, not repaired): the process died before it closed the record
                    await self.work.close_after_wrapup(iid, it.agent_id)
                else:
                    continue
                fixed += 1
            elif st == "assigned" and it.status == "queued":
                live = await self.engine.interaction_live(iid)
                agent = live.get("agent")
                if live.get("st") == "assigned" and agent:
                    await interactions.assign(self.pool, self.engine.namespace, it.id, agent)
                    fixed += 1
            elif st == "waiting" and it.status == "assigned":
                await interactions.requeue(self.pool, self.engine.namespace, it.id)
                fixed += 1
        fixed += await self._drop_closed()
        if fixed:
            log.info("index.repaired", fixed=fixed)
        return fixed

    async def _drop_closed(self) -> int:
        """Live entries whose record is closed (the process died after the PostgreSQL write, or the live
        step that follows a final record failed: see ``Work.transfer``, ``Work.end_wrapup``). Waiting and
        offered ones are removed at once; held work (assigned, wrap-up) is released when it was seen so in
        the previous round as well, since every normal end writes the record a moment before it releases."""
        found = [
            str(key)
            async for key in self.engine.redis.scan_iter(match=self.engine.keys.interaction("*"), count=1000)
        ]
        pipe = self.engine.redis.pipeline(transaction=False)
        for key in found:
            pipe.hmget(key, "st", "agent")
        states: list[list[str | None]] = await pipe.execute() if found else []
        live = {k.rsplit(":", 1)[1]: (st, agent) for k, (st, agent) in zip(found, states, strict=True) if st}
        if not live:
            self._held_but_closed = {}
            return 0
        statuses = await interactions.statuses(self.pool, self.engine.namespace, [uuid.UUID(i) for i in live])
        closed = {
            str(iid): str(status)
            for iid, status in statuses.items()
            if status not in ("queued", "assigned", "wrapup")
        }
        fixed = 0
        held_but_closed: dict[str, str] = {}
        for iid, status in closed.items():
            st, agent = live[iid]
            if st in ("waiting", "offered", "held"):
                await self.engine.customer_end(iid)
                fixed += 1
            elif st in ("assigned", "wrapup") and agent:
                held_but_closed[iid] = agent
                if self._held_but_closed.get(iid) == agent:
                    reason = "transferred" if status == "transferred" else "wrapup_ended"
                    try:
                        await self.engine.release(agent, iid, reason)
                        fixed += 1
                    except NotFound:
                        pass  # ended meanwhile
        self._held_but_closed = held_but_closed
        return fixed

    async def fire_timers(self) -> int:
        fired = await self.engine.fire_timers(missed_state=self.settings.missed_offer_state)
        for kind, ident, extra in fired:
            if kind == "o":
                await interactions.add_history(self.pool, ident, "offer_timeout", extra or None)
            elif kind == "w":
                await self.work.close_after_wrapup(ident, extra or None)
            elif kind == "g":
                for iid in filter(None, extra.split(",")):
                    await interactions.requeue(self.pool, self.engine.namespace, iid)
                    await interactions.add_history(self.pool, iid, "requeued", ident, reason="agent_not_back")
                log.info("agent.grace_expired", agent_id=ident, requeued=extra)
            elif kind == "f":
                # an overflow moved it: the record follows at once (the decision log does it too)
                left, _, went = extra.partition(",")
                await interactions.move_queue(self.pool, self.engine.namespace, ident, left, went)
        return len(fired)

    async def resubmit_pending(self) -> None:
        if self.outbound is None:
            return
        for message_id in await messages.pending_ids(self.pool, self.engine.namespace):
            await self.outbound.submit(str(message_id))

    async def heartbeat(self) -> None:
        """Prove this process alive, disconnect the desktops of processes that died, and put back this
        process's own desktops if the live index lost them (a flush, or a sweep that judged too soon)."""
        beat = self.settings.heartbeat_seconds
        keys = self.engine.keys
        await self.engine.redis.set(keys.node(self.node.id), "1", px=int(beat * NODE_TTL_BEATS * 1000))
        sessions = {s.agent_id: s for s in self.desktops.values()}
        dead, lost = await self.engine.presence_sweep(sorted(sessions))
        for agent, agent_node, session in dead:
            log.warning("agent.node_dead", agent_id=agent, node=agent_node)
            await self.engine.presence(agent, "disconnect", session, agent_node, "", self.node.grace_ms)
        for agent in lost:
            s = sessions[agent]
            if self.desktops.get(agent) is s and not s.closed:
                log.warning("agent.reannounced", agent_id=agent)
                await self.engine.presence(
                    agent, "connect", s.session_id, self.node.id, s.state, reason=s.reason
                )

    async def watch_index(self) -> None:
        gen = await self.engine.is_built()
        if gen is None:
            gen = await self.wait_built()
        if gen != self.built_generation:
            self.built_generation = gen
            await self.reannounce()

    async def repair_round(self) -> None:
        await self.directory.renew_hours()
        await self.repair()
        await self.resubmit_pending()
        self.repair_rounds += 1

    async def run(self) -> None:
        """The background duties of one process, each in its own loop so a slow one never delays another:
        timers (and the rebuild watch), heartbeat and presence, repair."""
        settings = self.settings

        async def timers() -> None:
            await self.watch_index()
            await self.fire_timers()

        await asyncio.gather(
            _forever("timers", settings.timer_interval_seconds, timers),
            _forever("heartbeat", settings.heartbeat_seconds, lambda: self.heartbeat()),
            _forever("repair", settings.reconcile_interval_seconds, lambda: self.repair_round()),
        )


RECONCILER = web.AppKey("reconciler", Reconciler)
