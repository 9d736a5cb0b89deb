"""The sockets held by this process and what the event stream means for them.

Offers reach the process holding the agent's socket through the stream; supervisors get queue
and agent statistics recomputed whenever an event touches them (coalesced while a computation
is running, never on a timer)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from aiohttp import web
from pydantic import BaseModel

from agent_desktop import frames
from context_store import customers as cstore
from context_store import interactions as istore
from router.contracts import ContextRecord, InteractionOut
from router.metrics import Metrics
from router.node import Node
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.stats import Statistics

log = structlog.get_logger("router.realtime.hub")

HISTORY_SECONDS = 15 * 60
QUEUE_EVENTS = {
    "enqueued",
    "offer",
    "offer_revoked",
    "requeued",
    "assigned",
    "abandoned",
    "work_ended",
    "wrapup_started",
    "customer_left",
    "grace_expired",
}


@dataclass(eq=False)
class AgentSession:
    agent_id: str
    session_id: str
    ws: web.WebSocketResponse
    state: str = "away"  # the agent's last chosen state, re-announced if Redis loses it
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def send(self, frame: BaseModel) -> None:
        await self.send_text(frame.model_dump_json())

    async def send_text(self, text: str) -> None:
        if self.ws.closed:
            return
        async with self.lock:
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                log.info("socket.send_failed", agent_id=self.agent_id)


@dataclass(eq=False)
class SupervisorSession:
    ws: web.WebSocketResponse
    raw_events: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send_json_text(self, text: str) -> None:
        if self.ws.closed:
            return
        async with self.lock:
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                pass


async def context_for(pool: asyncpg.Pool, customer_id: str) -> dict[str, Any]:
    record = await cstore.context_record(pool, customer_id)
    return record or {}


async def work_view(pool: asyncpg.Pool, interaction_id: str) -> tuple[InteractionOut, ContextRecord] | None:
    """The interaction (with messages and notes) and its customer's context record."""
    row = await istore.get_interaction(pool, interaction_id, full=False)
    if row is None:
        return None
    record = ContextRecord.model_validate(await context_for(pool, str(row["customer_id"])))
    current = next((i for i in record.interactions if i.id == str(row["id"])), None)
    if current is None:
        full = await istore.get_interaction(pool, interaction_id, full=True)
        assert full is not None
        current = interaction_out(full)
    return current, record


def _stream_id(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def interaction_out(row: dict[str, Any]) -> InteractionOut:
    data: dict[str, Any] = {
        k: (str(v) if k in ("id", "customer_id", "conversation_id", "parent_id") and v is not None else v)
        for k, v in row.items()
    }
    for m in data.get("messages", []):
        m["id"], m["interaction_id"] = str(m["id"]), str(m["interaction_id"])
    for n in data.get("notes", []):
        n["id"] = str(n["id"])
        n["interaction_id"] = str(n["interaction_id"]) if n["interaction_id"] else None
    return InteractionOut.model_validate(data)


class Hub:
    """The sockets of this process, and what each event on the stream means for them."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        stats: Statistics,
        metrics: Metrics,
        node: Node,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.stats = stats
        self.metrics = metrics
        self.node = node
        self.agents: dict[str, AgentSession] = {}
        self.supervisors: weakref.WeakSet[SupervisorSession] = weakref.WeakSet()
        self.all_sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.last_event_id = "0-0"
        self._dirty_queues: set[str] = set()
        self._dirty_agents: set[str] = set()
        self._wake = asyncio.Event()

    # ------------------------------------------------------------ agents

    def attach(self, session: AgentSession) -> AgentSession | None:
        old = self.agents.get(session.agent_id)
        self.agents[session.agent_id] = session
        return old

    def detach(self, session: AgentSession) -> bool:
        if self.agents.get(session.agent_id) is session:
            del self.agents[session.agent_id]
            return True
        return False

    async def offer_text(self, offer_id: str, interaction_id: str, deadline_ms: float) -> str | None:
        """The ``offer`` frame as JSON text, on the hot path of every offer: PostgreSQL builds the context
        record as JSON and it is spliced in as it is, not decoded, validated and encoded again. The
        frame is the same document as :class:`agent_desktop.frames.Offer` (a test holds them equal)."""
        found = await cstore.offer_context(self.pool, uuid.UUID(interaction_id))
        if found is None:
            return None
        record, current = found
        if current is None:  # older than the record's window: the slow path
            frame = await self.offer_frame(offer_id, interaction_id, deadline_ms)
            return frame.model_dump_json() if frame is not None else None
        it = json.loads(current)
        queue = self.directory.queues.get(it["queue"])
        reason = {
            "queue": it["queue"],
            "skills": dict(queue.skills) if queue else {},
            "channel": it["channel"],
        }
        head = json.dumps(
            {"type": "offer", "offer_id": offer_id, "deadline": deadline_ms / 1000, "reason": reason}
        )
        return f'{head[:-1]}, "interaction": {current}, "context": {record}}}'

    async def offer_frame(
        self, offer_id: str, interaction_id: str, deadline_ms: float
    ) -> frames.Offer | None:
        view = await work_view(self.pool, interaction_id)
        if view is None:
            return None
        interaction, record = view
        queue = self.directory.queues.get(interaction.queue)
        reason = {
            "queue": interaction.queue,
            "skills": dict(queue.skills) if queue else {},
            "channel": interaction.channel.value,
        }
        return frames.Offer(
            offer_id=offer_id,
            deadline=deadline_ms / 1000,
            interaction=interaction,
            context=record,
            reason=reason,
        )

    # ------------------------------------------------------------ events

    async def handle(self, event_id: str, kind: str, data: dict[str, Any]) -> None:
        if _stream_id(event_id) > _stream_id(self.last_event_id):
            self.last_event_id = event_id
        agent_id = data.get("agent_id")
        session = self.agents.get(agent_id) if agent_id else None
        if kind == "offer" and session is not None:
            text = await self.offer_text(data["offer_id"], data["interaction_id"], float(data["deadline"]))
            if text is not None:
                await session.send_text(text)
                self.metrics.inc("offers_sent_total")
                log.info(
                    "offer.sent",
                    agent_id=agent_id,
                    interaction_id=data["interaction_id"],
                    offer_id=data["offer_id"],
                )
        elif kind == "offer_revoked" and session is not None:
            await session.send(
                frames.OfferRevoked(
                    offer_id=data["offer_id"], interaction_id=data["interaction_id"], reason=data["reason"]
                )
            )
            if data["reason"] == "timeout":
                self.metrics.inc("offers_timed_out_total")
                log.info("offer.timeout", agent_id=agent_id, interaction_id=data["interaction_id"])
        elif kind == "message" and session is not None:
            msg = data["message"]
            await session.send(
                frames.MessageFrame.model_validate(
                    {
                        "interaction_id": data["interaction_id"],
                        "message": {**msg, "interaction_id": data["interaction_id"]},
                    }
                )
            )
        elif kind == "customer_left" and session is not None:
            await session.send(
                frames.InteractionEnded(interaction_id=data["interaction_id"], reason="customer_left")
            )
        elif kind == "work_ended" and session is not None and data.get("reason") != "transferred":
            await session.send(frames.WrapupEnded(interaction_id=data["interaction_id"]))
        elif kind == "message_status" and session is not None:
            await session.send(frames.MessageStatusFrame.model_validate(data))
        elif (
            kind == "agent" and session is not None and data.get("session") not in (None, session.session_id)
        ):
            # the agent signed in elsewhere: this older socket is superseded
            self.detach(session)
            await session.send(frames.Error(code="session_replaced", detail="signed in from another desktop"))
            await session.ws.close(code=4001, message=b"session replaced")
        elif kind == "config":
            if data.get("node") != self.node.id:
                await self.directory.reload()
        if kind == "agent":
            self.stats.forget_staffing()  # wait estimates count the agents signed in
        if kind in QUEUE_EVENTS and data.get("queue"):
            self._dirty_queues.add(data["queue"])
        if agent_id:
            self._dirty_agents.add(agent_id)
        if self.supervisors and (self._dirty_queues or self._dirty_agents):
            self._wake.set()
        for sup in list(self.supervisors):
            if sup.raw_events:
                await sup.send_json_text(
                    frames.EventFrame(event_id=event_id, kind=kind, data=data).model_dump_json()
                )

    # ------------------------------------------------------------ supervisors

    async def agent_status(self, agent_id: str) -> frames.AgentStatus | None:
        cfg = self.directory.agents.get(agent_id)
        if cfg is None:
            return None
        live = await self.engine.agent_live(agent_id)
        work = await self.engine.agent_work(agent_id)
        wrapup = 0
        for iid in work:
            if (await self.engine.interaction_live(iid)).get("st") == "wrapup":
                wrapup += 1
        cap = cfg.full_capacity()
        return frames.AgentStatus(
            id=agent_id,
            name=cfg.name,
            state=live.get("state", "offline"),
            connected=live.get("connected") == "1",
            state_since=float(live["since"]) / 1000 if live.get("since") else None,
            load={ch: int(live.get(f"load:{ch}", 0)) for ch in cap},
            capacity=cap,
            wrapup=wrapup,
        )

    async def queue_snapshot(self, queue_id: str, day: dict[str, dict[str, int]]) -> frames.QueueSnapshot:
        cfg = self.directory.queues.get(queue_id)
        st = await self.stats.queue_stats(queue_id, day.get(queue_id))
        await self._record_history(queue_id, st.waiting)
        return frames.QueueSnapshot(
            id=queue_id,
            name=cfg.name if cfg else None,
            service_level_seconds=cfg.service_level_seconds if cfg else None,
            stats=st,
        )

    async def _record_history(self, queue_id: str, waiting: int) -> None:
        key = self.engine.keys.queue_history(queue_id)
        now = time.time()
        pipe = self.engine.redis.pipeline(transaction=False)
        pipe.zadd(key, {f"{now:.3f}:{waiting}": now})
        pipe.zremrangebyscore(key, "-inf", now - HISTORY_SECONDS)
        await pipe.execute()

    async def history(self, queue_id: str) -> list[tuple[float, int]]:
        key = self.engine.keys.queue_history(queue_id)
        rows = await self.engine.redis.zrangebyscore(key, time.time() - HISTORY_SECONDS, "+inf")
        out = []
        for r in rows:
            ts, _, waiting = str(r).partition(":")
            out.append((float(ts), int(waiting)))
        return out

    async def snapshot(self) -> frames.SupervisorSnapshot:
        day = await self.stats.day_counts()
        queues = [await self.queue_snapshot(q, day) for q in sorted(self.directory.queues)]
        agents = [
            a for a in [await self.agent_status(a) for a in sorted(self.directory.agents)] if a is not None
        ]
        history = {q: await self.history(q) for q in sorted(self.directory.queues)}
        return frames.SupervisorSnapshot(
            event_id=self.last_event_id, queues=queues, agents=agents, history=history
        )

    async def supervisor_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            queues, agents = self._dirty_queues, self._dirty_agents
            self._dirty_queues, self._dirty_agents = set(), set()
            if not self.supervisors:
                continue
            try:
                day = await self.stats.day_counts() if queues else {}
                texts = []
                for q in sorted(queues):
                    snap = await self.queue_snapshot(q, day)
                    texts.append(
                        frames.QueueUpdate(event_id=self.last_event_id, queue=snap).model_dump_json()
                    )
                for a in sorted(agents):
                    status = await self.agent_status(a)
                    if status is not None:
                        texts.append(
                            frames.AgentUpdate(event_id=self.last_event_id, agent=status).model_dump_json()
                        )
                for sup in list(self.supervisors):
                    for text in texts:
                        await sup.send_json_text(text)
            except Exception:  # a failed statistics round is logged; the next event retries it
                log.exception("supervisor.push_failed")


HUB = web.AppKey("hub", Hub)
