"""Keeping the live index true to the record.

- **Rebuild**: when Redis has no index (first start, flush, restart), one process takes a lock and
  rebuilds it from PostgreSQL: directory, every interaction not ended (waiting ones at their original
  rank, held ones on their agents). Scripts answer "not ready" until it is done.
- **Repair**: periodically, interactions open in PostgreSQL but missing from Redis are restored,
  and interactions ended in PostgreSQL but still live in Redis are removed (a crash between the
  two writes).
- **Timers**: offer deadlines, wrap-up ends and reconnect grace periods fire from a Redis sorted set;
  whichever process fires one records it in PostgreSQL.
- **Presence**: each process keeps a heartbeat key; agents whose process died are disconnected.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from context_store import interactions as istore
from context_store.db import q
from router.errors import NotReady
from router.realtime.hub import Hub
from router.routing import directory
from router.routing.engine import rank_score
from router.service import work
from router.state import Runtime

log = structlog.get_logger("router.service.reconciler")

BATCH = 500


def _live_item(row: dict[str, Any]) -> dict[str, Any]:
    st = {"queued": "waiting", "assigned": "assigned", "wrapup": "wrapup"}[row["status"]]
    return {
        "id": str(row["id"]),
        "q": row["queue_id"],
        "ch": row["channel"],
        "score": rank_score(row["priority"], row["venq_ms"]),
        "arr": int(row["created_ms"]),
        "st": st,
        "agent": row["agent_id"] or "",
        "wrapup_until_ms": int((row["wrapup_until"] or time.time()) * 1000),
    }


async def rebuild(rt: Runtime) -> bool:
    """Rebuild the live index if it is missing. Returns True if this process rebuilt it."""
    keys = rt.engine.keys
    if await rt.redis.exists(keys.built):
        return False
    if not await rt.redis.set(keys.rebuild_lock, rt.node_id, nx=True, px=60_000):
        return False
    try:
        started = time.perf_counter()
        await directory.reload(rt)
        await directory.sync_live(rt)
        rows = [dict(r) for r in await rt.pool.fetch(q("interactions_open"))]
        items = [_live_item(r) for r in rows if r["status"] == "queued" or r["agent_id"]]
        for k in range(0, len(items), BATCH):
            await rt.engine.restore(items[k : k + BATCH], rt.grace_ms)
        # unique across flushes (a counter in Redis would restart at 1 and hide the rebuild)
        generation = f"{int(time.time() * 1000)}-{rt.node_id}"
        await rt.redis.set(keys.built, generation)
        log.info(
            "index.rebuilt",
            interactions=len(items),
            seconds=round(time.perf_counter() - started, 3),
            generation=generation,
        )
        return True
    finally:
        await rt.redis.delete(keys.rebuild_lock)


async def wait_built(rt: Runtime, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        await rebuild(rt)
        gen = await rt.engine.is_built()
        if gen is not None:
            return gen
        if time.monotonic() > deadline:
            raise NotReady("the live index was not rebuilt in time")
        await asyncio.sleep(0.1)


async def reannounce(rt: Runtime, hub: Hub) -> None:
    """After a rebuild, tell the new index about the desktops connected to this process."""
    for session in list(hub.agents.values()):
        await rt.engine.presence(session.agent_id, "connect", session.session_id, rt.node_id, session.state)


REPAIR_AFTER_MS = 10_000  # a gap older than this is a crash's leftover, not a write in flight


async def repair(rt: Runtime) -> int:
    """Repair what a crash between the two writes leaves, and only that.

    Normal work always has a moment where PostgreSQL and Redis disagree (ingest commits, then enqueues;
    a script finishes work, then the record is closed), so an interaction is repaired only when its
    record has not changed for ``REPAIR_AFTER_MS`` and both stores still disagree when looked at again.
    """
    now_ms = time.time() * 1000
    rows = [
        dict(r)
        for r in await rt.pool.fetch(q("interactions_open"))
        if now_ms - max(r["created_ms"], r["changed_ms"] or 0) > REPAIR_AFTER_MS
    ]
    fixed = 0
    pipe = rt.redis.pipeline(transaction=False)
    for row in rows:
        pipe.hget(rt.engine.keys.interaction(str(row["id"])), "st")
    live_states: list[str | None] = await pipe.execute() if rows else []
    for row, st in zip(rows, live_states, strict=True):
        iid = str(row["id"])
        if st is None:
            if row["status"] == "queued":
                await rt.engine.enqueue(
                    iid,
                    row["queue_id"],
                    row["channel"],
                    row["priority"],
                    row["venq_ms"],
                    int(row["created_ms"]),
                )
            elif row["status"] in ("assigned", "wrapup"):
                # held work is only dropped from the live index when it ends (a flush is rebuilt
                # whole, not repaired): the process died before it closed the record
                await work.close_after_wrapup(rt, iid, row["agent_id"])
            else:
                continue
            fixed += 1
        elif st == "assigned" and row["status"] == "queued":
            live = await rt.engine.interaction_live(iid)
            if live.get("st") == "assigned":
                await rt.pool.fetchval(q("interaction_assign"), row["id"], live.get("agent"))
                fixed += 1
        elif st == "waiting" and row["status"] == "assigned":
            await rt.pool.fetchval(q("interaction_requeue"), row["id"])
            fixed += 1
    fixed += await _drop_closed(rt)
    if fixed:
        log.info("index.repaired", fixed=fixed)
    return fixed


async def _drop_closed(rt: Runtime) -> int:
    """Live entries whose record is closed (the process died after the PostgreSQL write)."""
    found = [str(key) async for key in rt.redis.scan_iter(match=rt.engine.keys.interaction("*"), count=1000)]
    pipe = rt.redis.pipeline(transaction=False)
    for key in found:
        pipe.hget(key, "st")
    states = await pipe.execute() if found else []
    live = [k.rsplit(":", 1)[1] for k, st in zip(found, states, strict=True) if st in ("waiting", "offered")]
    if not live:
        return 0
    rows = await rt.pool.fetch(q("interaction_statuses"), [uuid.UUID(i) for i in live])
    closed = [str(r["id"]) for r in rows if r["status"] not in ("queued", "assigned", "wrapup")]
    for iid in closed:
        await rt.engine.customer_end(iid)
    return len(closed)


async def fire_timers(rt: Runtime) -> int:
    fired = await rt.engine.fire_timers()
    for kind, ident, extra in fired:
        if kind == "o":
            await istore.add_history(rt.pool, ident, "offer_timeout", extra or None)
        elif kind == "w":
            await work.close_after_wrapup(rt, ident, extra or None)
        elif kind == "g":
            for iid in filter(None, extra.split(",")):
                await rt.pool.fetchval(q("interaction_requeue"), uuid.UUID(iid))
                await istore.add_history(rt.pool, iid, "requeued", ident, reason="agent_not_back")
            log.info("agent.grace_expired", agent_id=ident, requeued=extra)
    return len(fired)


async def sweep_dead_nodes(rt: Runtime) -> None:
    """Disconnect the desktops of processes whose heartbeat stopped: two pipelined round trips
    whatever the number of agents (their presence, then each distinct process's heartbeat)."""
    keys = rt.engine.keys
    agents = sorted(str(a) for a in await rt.redis.smembers(keys.connected))
    if not agents:
        return
    pipe = rt.redis.pipeline(transaction=False)
    for agent in agents:
        pipe.hmget(keys.agent(agent), "node", "session")
    presence: list[list[str | None]] = await pipe.execute()
    nodes = sorted({str(n) for n, _ in presence if n})
    pipe = rt.redis.pipeline(transaction=False)
    for n in nodes:
        pipe.exists(keys.node(n))
    alive = {n for n, up in zip(nodes, await pipe.execute(), strict=True) if up}
    for agent, (agent_node, session) in zip(agents, presence, strict=True):
        if agent_node and agent_node not in alive:
            log.warning("agent.node_dead", agent_id=agent, node=agent_node)
            await rt.engine.presence(agent, "disconnect", session or "", agent_node, "", rt.grace_ms)


async def resubmit_pending(rt: Runtime) -> None:
    if rt.outbound is None:
        return
    for row in await rt.pool.fetch(q("messages_pending")):
        await rt.outbound.submit(str(row["id"]))


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


async def heartbeat(rt: Runtime, hub: Hub) -> None:
    """Prove this process alive, disconnect the desktops of processes that died, and put back this
    process's own desktops if the live index lost them (a flush, or a sweep that judged too soon)."""
    beat = rt.settings.file.routing.heartbeat_seconds
    keys = rt.engine.keys
    await rt.redis.set(keys.node(rt.node_id), "1", px=int(beat * NODE_TTL_BEATS * 1000))
    await sweep_dead_nodes(rt)
    sessions = list(hub.agents.values())
    if sessions:
        pipe = rt.redis.pipeline(transaction=False)
        for s in sessions:
            pipe.hmget(keys.agent(s.agent_id), "connected", "session")
        for s, (connected, current) in zip(sessions, await pipe.execute(), strict=True):
            if connected != "1" and current is None and hub.agents.get(s.agent_id) is s and not s.ws.closed:
                log.warning("agent.reannounced", agent_id=s.agent_id)
                await rt.engine.presence(s.agent_id, "connect", s.session_id, rt.node_id, s.state)


async def watch_index(rt: Runtime, hub: Hub) -> None:
    gen = await rt.engine.is_built()
    if gen is None:
        gen = await wait_built(rt)
    if gen != rt.built_generation:
        rt.built_generation = gen
        await reannounce(rt, hub)


async def repair_round(rt: Runtime) -> None:
    await repair(rt)
    await resubmit_pending(rt)


async def run(rt: Runtime, hub: Hub) -> None:
    """The background duties of one process, each in its own loop so a slow one never delays another:
    timers (and the rebuild watch), heartbeat and presence, repair."""
    settings = rt.settings.file.routing

    async def timers() -> None:
        await watch_index(rt, hub)
        await fire_timers(rt)

    await asyncio.gather(
        _forever("timers", settings.timer_interval_seconds, timers),
        _forever("heartbeat", settings.heartbeat_seconds, lambda: heartbeat(rt, hub)),
        _forever("repair", settings.reconcile_interval_seconds, lambda: repair_round(rt)),
    )
