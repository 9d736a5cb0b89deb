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
from context_store import callbacks, customers, interactions
from context_store.records import Callback, Interaction, InteractionDetail, Message, Note
from router.contracts import ContextRecord, InteractionOut, MessageOut, NoteOut, QueueConfig, Why
from router.contracts.callbacks import CallbackInfo
from router.errors import NotFound
from router.metrics import Metrics
from router.node import Node
from router.realtime import collisions, views
from router.realtime.outbox import ABANDONED_METRIC, SESSION_REPLACED, SLOW_METRIC, Outbox
from router.realtime.revocation import TokenSockets
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.stats import Statistics
from router.service.auth import TokenCache
from router.service.blending import Blending

log = structlog.get_logger("router.realtime.hub")

HISTORY_SECONDS = 15 * 60
SNAPSHOT_REUSE_SECONDS = 1.0
"""A supervisor's snapshot reuses queue aggregates computed this recently (changes since are pushed)."""
BLENDING_EVENTS = frozenset({"blending_started", "blending_ended"})
"""A blending rule came into force or ended: the wallboard's panel and the group's capacities change."""

BLENDING_REDRAW_SECONDS = 1.0

QUEUE_EVENTS = {
    "enqueued",
    "offer",
    "offer_revoked",
    "requeued",
    "assigned",
    "abandoned",
    "work_ended",
    "wrapup_started",
    "wrapup_undone",
    "customer_left",
    "grace_expired",
    "callback_requested",
    "callback_released",
    "callback_cancelled",
    "overflowed",  # both queues change: the one it left ("from") and "queue"
}


@dataclass(eq=False)
class AgentSession:
    """One agent desktop socket. ``epoch`` orders the sessions of one agent (the live index gives each
    connect a larger one), so of two racing desktops exactly the later one survives."""

    agent_id: str
    session_id: str
    outbox: Outbox
    epoch: int = 0
    state: str = "away"  # the agent's last state and reason, re-announced if Redis loses them
    reason: str = ""

    @property
    def closed(self) -> bool:
        return self.outbox.closing

    def send(self, frame: BaseModel) -> None:
        self.outbox.put(frame.model_dump_json())

    def send_text(self, text: str) -> None:
        self.outbox.put(text)

    def replaced(self) -> None:
        """A newer desktop of the same agent took over: say so, then close with 4001."""
        error = frames.Error(code="session_replaced", detail="signed in from another desktop")
        self.outbox.close(SESSION_REPLACED, "session replaced", last=error.model_dump_json())


@dataclass(eq=False)
class SupervisorSession:
    outbox: Outbox
    raw_events: bool = False
    watching: set[str] = field(default_factory=set)  # interaction ids followed with ``watch``
    view: views.ViewState = field(default_factory=views.ViewState)  # the page of agents it looks at

    def send(self, frame: BaseModel) -> None:
        self.outbox.put(frame.model_dump_json())

    def send_text(self, text: str) -> None:
        self.outbox.put(text)


async def work_view(
    pool: asyncpg.Pool, namespace: str, interaction_id: str, it: Interaction | None = None
) -> tuple[InteractionOut, ContextRecord] | None:
    """The domain's interaction (with messages and notes) and its customer's context record. The record
    is shared by every domain: it lists the customer's interactions in other domains too, because an offer
    shows one customer across channels and regions. ``it``: the interaction's row when the caller has just
    written it (not read again)."""
    if it is None:
        it = await interactions.get(pool, namespace, interaction_id)
    if it is None:
        return None
    raw = await customers.context_json(pool, it.customer_id)
    assert raw is not None, "an interaction's customer exists"
    record = ContextRecord.model_validate_json(raw)
    current = next((i for i in record.interactions if i.id == str(it.id)), None)
    if current is None:  # older than the record's window
        detail = await interactions.get_detail(pool, namespace, it.id)
        assert detail is not None
        current = interaction_out(detail.interaction, detail)
    return current, record


async def callback_info(
    pool: asyncpg.Pool, namespace: str, interaction_id: str, queue: QueueConfig | None
) -> CallbackInfo | None:
    """What an offer or held work says of its callback (None: not a callback)."""
    return callback_view(await callbacks.get(pool, namespace, interaction_id), queue)


def callback_view(cb: Callback | None, queue: QueueConfig | None) -> CallbackInfo | None:
    """What an offer or held work says of its callback row (None: not a callback)."""
    if cb is None:
        return None
    return CallbackInfo(
        number=cb.number, attempt=cb.attempts + 1, attempts=queue.callback_attempts if queue else 1
    )


def _stream_id(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def message_out(m: Message) -> MessageOut:
    return MessageOut(
        id=str(m.id),
        interaction_id=str(m.interaction_id),
        direction=m.direction,
        body=m.body,
        agent_id=m.agent_id,
        external_id=m.external_id,
        status=m.status,
        attachments=m.attachments,
        created_at=m.created_at,
    )


def note_out(n: Note) -> NoteOut:
    return NoteOut(
        id=str(n.id),
        interaction_id=str(n.interaction_id) if n.interaction_id else None,
        agent_id=n.agent_id,
        body=n.body,
        created_at=n.created_at,
    )


def interaction_out(it: Interaction, detail: InteractionDetail | None = None) -> InteractionOut:
    """The wire view of a stored interaction; with its messages and notes when ``detail`` holds them."""
    return InteractionOut(
        id=str(it.id),
        customer_id=str(it.customer_id),
        conversation_id=str(it.conversation_id),
        parent_id=str(it.parent_id) if it.parent_id else None,
        channel=it.channel,
        external_id=it.external_id,
        queue=it.queue,
        status=it.status,
        priority=it.priority,
        attributes=it.attributes,
        subject=it.subject,
        agent_id=it.agent_id,
        disposition=it.disposition,
        summary=it.summary,
        end_reason=it.end_reason,
        created_at=it.created_at,
        enqueued_at=it.enqueued_at,
        assigned_at=it.assigned_at,
        ended_at=it.ended_at,
        from_kind=it.from_kind,
        from_value=it.from_value,
        messages=[message_out(m) for m in detail.messages] if detail else [],
        notes=[note_out(n) for n in detail.notes] if detail else [],
    )


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
        tokens: TokenCache,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.stats = stats
        self.metrics = metrics
        self.node = node
        self.token_sockets = TokenSockets(tokens)  # closed when their token is revoked or expires
        self.agents: dict[str, AgentSession] = {}
        self.supervisors: weakref.WeakSet[SupervisorSession] = weakref.WeakSet()
        self.all_sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self._epochs: dict[str, int] = {}
        self.last_event_id = "0-0"
        for kind in ("agent", "supervisor"):  # the counters exist from the start, at 0
            metrics.inc(SLOW_METRIC, 0, kind=kind)
            metrics.inc(ABANDONED_METRIC, 0, kind=kind)
        self._dirty_queues: set[str] = set()
        self._dirty_agents: dict[str, None] = {}  # in the order of their events
        self._wake = asyncio.Event()
        self._queue_sent: dict[str, float] = {}  # when each queue's aggregates were last pushed
        self._queue_cache: dict[str, tuple[float, frames.QueueSnapshot]] = {}  # computed at, aggregates
        self._rewake: asyncio.TimerHandle | None = None
        self._aggregating = asyncio.Lock()
        self._queue_done: dict[str, float] = {}  # when the cached aggregates were computed (finished)
        self.blending: Blending | None = None
        """The blending rules, whose state the wallboard shows (set when the services are built)."""

    # ------------------------------------------------------------ agents

    def attach(self, session: AgentSession) -> bool:
        """Make ``session`` the agent's socket on this process, closing an older one (4001). False when a
        newer session of the agent already exists (here or, as an event said, on another process): the
        caller closes this one instead."""
        current = self.agents.get(session.agent_id)
        newest = max(self._epochs.get(session.agent_id, 0), current.epoch if current else 0)
        if session.epoch < newest:
            return False
        self._epochs[session.agent_id] = session.epoch
        self.agents[session.agent_id] = session
        if current is not None and current is not session:
            current.replaced()
        return True

    def detach(self, session: AgentSession) -> bool:
        if self.agents.get(session.agent_id) is session:
            del self.agents[session.agent_id]
            return True
        return False

    def _presence_event(self, agent_id: str, data: dict[str, Any]) -> None:
        """An agent's presence changed in the live index. A session with a larger epoch than the one held
        here means a newer desktop signed in (here or elsewhere): the older socket is superseded."""
        epoch = int(data.get("epoch") or 0)
        if not epoch:
            return
        if epoch > self._epochs.get(agent_id, 0):
            self._epochs[agent_id] = epoch
        session = self.agents.get(agent_id)
        if session is None:
            return
        if data.get("session") == session.session_id:
            session.epoch = max(session.epoch, epoch)  # re-announced after a rebuild of the index
        elif epoch > session.epoch:
            self.detach(session)
            session.replaced()

    async def offer_text(
        self,
        offer_id: str,
        interaction_id: str,
        deadline_ms: float,
        why: Why | None = None,
        agent_id: str | None = None,
        *,
        callback: bool = False,
    ) -> str | None:
        """The ``offer`` frame as JSON text, on the hot path of every offer: PostgreSQL builds the context
        record as JSON and it is spliced in as it is, not decoded, validated and encoded again. The
        frame is the same document as :class:`agent_desktop.frames.Offer` (a test holds them equal)."""
        found = await customers.offer_context(self.pool, uuid.UUID(interaction_id))
        if found is None:
            return None
        current = found.interaction
        if current is None:  # older than the record's window: the slow path
            frame = await self.offer_frame(offer_id, interaction_id, deadline_ms, why, agent_id)
            return frame.model_dump_json() if frame is not None else None
        queue = self.directory.queues.get(current.queue)
        reason = {
            "queue": current.queue,
            "skills": dict(queue.skills) if queue else {},
            "channel": current.channel,
        }
        # only an offer the live index marked a callback reads it (off the hot path of other offers)
        cb = (
            await callback_info(self.pool, self.engine.namespace, interaction_id, queue) if callback else None
        )
        head = json.dumps(
            {
                "type": "offer",
                "offer_id": offer_id,
                "deadline": deadline_ms / 1000,
                "reason": reason,
                "why": why.model_dump(mode="json") if why is not None else None,
                "collisions": [
                    c.model_dump() for c in collisions.from_held(found.held, interaction_id, agent_id)
                ],
                "callback": cb.model_dump(mode="json") if cb is not None else None,
            }
        )
        return f'{head[:-1]}, "interaction": {current.text}, "context": {found.record_text}}}'

    async def offer_frame(
        self,
        offer_id: str,
        interaction_id: str,
        deadline_ms: float,
        why: Why | None = None,
        agent_id: str | None = None,
    ) -> frames.Offer | None:
        view = await work_view(self.pool, self.engine.namespace, interaction_id)
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
            why=why,
            collisions=collisions.of_record(record, interaction.id, agent_id),
            callback=await callback_info(self.pool, self.engine.namespace, interaction_id, queue),
        )

    # ------------------------------------------------------------ events

    async def handle(self, event_id: str, kind: str, data: dict[str, Any]) -> None:
        """What one event means for the sockets here. Frames are only queued (each socket's outbox writes
        them): nothing here waits on a client's network."""
        if _stream_id(event_id) > _stream_id(self.last_event_id):
            self.last_event_id = event_id
        agent_id = data.get("agent_id")
        session = self.agents.get(agent_id) if agent_id else None
        if kind == "offer" and session is not None:
            why = Why.model_validate(data["why"]) if data.get("why") else None
            text = await self.offer_text(
                data["offer_id"],
                data["interaction_id"],
                float(data["deadline"]),
                why,
                agent_id,
                callback=bool(data.get("callback")),
            )
            session = self.agents.get(agent_id) if agent_id else None  # may have reconnected meanwhile
            if text is not None and session is not None:
                session.send_text(text)
                self.metrics.inc("offers_sent_total")
                # the event id is Redis's clock in ms: the delay from the script's decision to the frame
                # queued here (clocks of separate hosts may differ by their skew)
                made_ms = _stream_id(event_id)[0]
                if made_ms:
                    self.metrics.observe("offer_delivery", max(0.0, time.time() - made_ms / 1000))
                log.info(
                    "offer.sent",
                    agent_id=agent_id,
                    interaction_id=data["interaction_id"],
                    offer_id=data["offer_id"],
                )
        elif kind == "offer_revoked" and session is not None:
            session.send(
                frames.OfferRevoked(
                    offer_id=data["offer_id"], interaction_id=data["interaction_id"], reason=data["reason"]
                )
            )
            if data["reason"] == "timeout":
                self.metrics.inc("offers_timed_out_total")
                log.info("offer.timeout", agent_id=agent_id, interaction_id=data["interaction_id"])
        elif kind == "message" and session is not None:
            msg = data["message"]
            session.send(
                frames.MessageFrame.model_validate(
                    {
                        "interaction_id": data["interaction_id"],
                        "message": {**msg, "interaction_id": data["interaction_id"]},
                    }
                )
            )
        elif kind == "transferred" and session is not None and data.get("mode") == "warm":
            session.send(frames.InteractionEnded(interaction_id=data["interaction_id"], reason="transferred"))
        elif kind == "transfer_failed" and session is not None:
            session.send(
                frames.TransferFailed(
                    interaction_id=data["interaction_id"], target=data["target"], reason=data["reason"]
                )
            )
        elif kind == "context_changed" and session is not None:
            view = await work_view(self.pool, self.engine.namespace, data["interaction_id"])
            session = self.agents.get(agent_id) if agent_id else None  # may have reconnected meanwhile
            if view is not None and session is not None:
                session.send(frames.ContextFrame(interaction_id=data["interaction_id"], context=view[1]))
        elif kind == "customer_left" and session is not None:
            session.send(
                frames.InteractionEnded(interaction_id=data["interaction_id"], reason="customer_left")
            )
        elif kind == "work_ended" and session is not None and data.get("reason") != "transferred":
            session.send(frames.WrapupEnded(interaction_id=data["interaction_id"]))
        elif kind == "whisper" and session is not None:
            session.send(
                frames.WhisperFrame(
                    interaction_id=data["interaction_id"], body=data["body"], by=data["by"], at=data["at"]
                )
            )
        elif kind == "collision" and session is not None:
            session.send(frames.CollisionFrame.model_validate(data))
        elif kind == "taken_over" and session is not None:
            session.send(frames.TakenOver.model_validate(data))
        elif kind == "message_status" and session is not None:
            session.send(frames.MessageStatusFrame.model_validate(data))
        elif kind == "agent" and agent_id:
            self._presence_event(agent_id, data)
        elif kind == "agent_state" and session is not None and data.get("connected"):
            # a change the agent made or the router made (an offer missed): the desktop shows it
            session.state, session.reason = str(data["state"]), str(data.get("reason") or "")
            session.send(
                frames.StateFrame(
                    state=data["state"],
                    state_since=float(data.get("since") or data["at"]) / 1000,
                    reason=session.reason,
                )
            )
        elif kind == "config":
            if data.get("node") != self.node.id:
                await self.directory.reload()
        elif kind == "token_revoked":
            self.token_sockets.revoked(str(data["token_id"]))
        elif kind in BLENDING_EVENTS and self.supervisors:
            text = (await self.blending_frame()).model_dump_json()
            for sup in list(self.supervisors):
                sup.send_text(text)
            # the group's rows show the capacity in force, which the process evaluating the rules writes
            # just after this event: drawn again a moment later
            group = data.get("group")
            members = {a for a, cfg in self.directory.agents.items() if group in cfg.groups}
            self._dirty_agents.update(dict.fromkeys(sorted(members)))
            asyncio.get_running_loop().call_later(BLENDING_REDRAW_SECONDS, self._redraw_agents, members)
        if kind in ("agent", "agent_state"):
            self.stats.forget_staffing()  # wait estimates count the agents present
        if kind in QUEUE_EVENTS and data.get("queue"):
            self._dirty_queues.add(data["queue"])
            if kind == "overflowed" and data.get("from"):
                self._dirty_queues.add(data["from"])
        if agent_id:
            self._dirty_agents[agent_id] = None
        if self.supervisors and (self._dirty_queues or self._dirty_agents):
            self._wake.set()
        interaction_id = data.get("interaction_id")
        watchers = (
            [sup for sup in self.supervisors if interaction_id in sup.watching] if interaction_id else []
        )
        if watchers:
            watched = frames.Watched(event_id=event_id, interaction_id=interaction_id, kind=kind, data=data)
            text = watched.model_dump_json()
            for sup in watchers:
                sup.send_text(text)
        watching = [sup for sup in self.supervisors if sup.raw_events]
        if watching:
            text = frames.EventFrame(event_id=event_id, kind=kind, data=data).model_dump_json()
            for sup in watching:
                sup.send_text(text)

    # ------------------------------------------------------------ supervisors

    async def queue_snapshot(self, queue_id: str, day: dict[str, dict[str, int]]) -> frames.QueueSnapshot:
        cfg = self.directory.queues.get(queue_id)
        agents = await self.engine.queue_agents(queue_id)
        st = await self.stats.queue_stats(queue_id, day.get(queue_id), agents)
        await self._record_history(queue_id, st.waiting)
        return frames.QueueSnapshot(
            id=queue_id,
            name=cfg.name if cfg else None,
            service_level_seconds=cfg.service_level_seconds if cfg else None,
            stats=st,
            agents_by_state=agents.by_state,
        )

    async def _fresh_queue(self, queue_id: str, day: dict[str, dict[str, int]]) -> frames.QueueSnapshot:
        """Compute a queue's aggregates and keep them for snapshots (the newest computation wins)."""
        started = time.monotonic()
        snap = await self.queue_snapshot(queue_id, day)
        held = self._queue_cache.get(queue_id)
        if held is None or held[0] <= started:
            self._queue_cache[queue_id] = (started, snap)
            self._queue_done[queue_id] = time.monotonic()
        return snap

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

    async def snapshot(self, view: views.ViewState | None = None) -> frames.SupervisorSnapshot:
        """The queue aggregates (all queues; reused when computed within ``SNAPSHOT_REUSE_SECONDS``:
        a change since is pushed as a ``queue`` frame), per channel totals, and the agents of ``view``
        (which gets the page's agent ids). Many supervisors opening at once cost one computation."""
        view = view if view is not None else views.ViewState()
        ids, view.total = await views.page(self.engine, self.directory, view.queue, view.page, view.page_size)
        view.agents = frozenset(ids)
        agents = await views.agent_statuses(self.engine, self.directory, ids)
        history = {q: await self.history(q) for q in sorted(self.directory.queues)}
        # one computation at a time: the supervisors opening meanwhile wait for it and reuse it (what
        # finished after they asked is fresh, however long it took)
        asked = time.monotonic()
        async with self._aggregating:
            # a queue changed since its last computation is stale however recent that was: with no
            # supervisor connected its change woke nobody, and a socket opening now would be shown the
            # figures from before the change (and no queue frame would follow until the next change)
            stale = [
                q
                for q in sorted(self.directory.queues)
                if q in self._dirty_queues or self._queue_done.get(q, -1e9) < asked - SNAPSHOT_REUSE_SECONDS
            ]
            if stale:
                day = await self.stats.day_counts()
                await asyncio.gather(*(self._fresh_queue(q, day) for q in stale))
        # read last, with no wait until the socket joins the pushes: nothing computed since is missed
        queues = [self._queue_cache[q][1] for q in sorted(self.directory.queues) if q in self._queue_cache]
        return frames.SupervisorSnapshot(
            event_id=self.last_event_id,
            queues=queues,
            agents=agents,
            history=history,
            view=view.described(),
            channels=views.channel_totals(queues, self.directory),
        )

    async def set_view(
        self, sup: SupervisorSession, queue: str | None, page: int, page_size: int
    ) -> frames.AgentPage:
        """Point the socket at another page of agents: its rows now, and from now on their ``agent``
        frames only."""
        if queue is not None and queue not in self.directory.queues:
            raise NotFound(f"queue {queue} is not configured")
        ids, total = await views.page(self.engine, self.directory, queue, page, page_size)
        agents = await views.agent_statuses(self.engine, self.directory, ids)
        sup.view = views.ViewState(queue, page, page_size, total, frozenset(ids))
        return frames.AgentPage(event_id=self.last_event_id, view=sup.view.described(), agents=agents)

    def _due_queues(self, dirty: set[str]) -> set[str]:
        """The dirty queues whose last push is ``QUEUE_PUSH_SECONDS`` old; the others stay dirty and a
        wake-up is set for the first of them."""
        now = time.monotonic()
        due = {q for q in dirty if now - self._queue_sent.get(q, -1e9) >= views.QUEUE_PUSH_SECONDS}
        later = dirty - due
        self._dirty_queues |= later
        if later and self._rewake is None:
            delay = min(self._queue_sent[q] + views.QUEUE_PUSH_SECONDS for q in later) - now
            self._rewake = asyncio.get_running_loop().call_later(max(delay, 0.0), self._rewoken)
        for q in due:
            self._queue_sent[q] = now
        return due

    def _rewoken(self) -> None:
        self._rewake = None
        self._wake.set()

    def _redraw_agents(self, agents: set[str]) -> None:
        self._dirty_agents.update(dict.fromkeys(sorted(agents)))
        if self.supervisors:
            self._wake.set()

    async def blending_frame(self) -> frames.BlendingFrame:
        """The blending rules and whether each is in force (the wallboard's blending panel)."""
        return frames.BlendingFrame(rules=await self.blending.status() if self.blending else [])

    async def supervisor_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty_queues, agents = self._dirty_queues, self._dirty_agents
            self._dirty_queues, self._dirty_agents = set(), {}
            if not self.supervisors:
                self._queue_cache.clear()  # nobody was told of changes since: recompute for the next one
                self._queue_done.clear()
                continue
            queues = self._due_queues(dirty_queues)
            # an agent's row goes only to the sockets whose page shows it
            shown = set().union(*(sup.view.agents for sup in self.supervisors))
            viewed = [a for a in agents if a in shown]
            try:
                day = await self.stats.day_counts() if queues else {}
                texts = []
                for q in sorted(queues):
                    snap = await self._fresh_queue(q, day)
                    texts.append(
                        frames.QueueUpdate(event_id=self.last_event_id, queue=snap).model_dump_json()
                    )
                rows = {
                    status.id: frames.AgentUpdate(event_id=self.last_event_id, agent=status).model_dump_json()
                    for status in await views.agent_statuses(self.engine, self.directory, viewed)
                }
                for sup in list(self.supervisors):
                    for text in texts:
                        sup.send_text(text)
                    for a, text in rows.items():  # in the order of their events
                        if a in sup.view.agents:
                            sup.send_text(text)
            except Exception:  # a failed statistics round is logged; the next event retries it
                log.exception("supervisor.push_failed")


HUB = web.AppKey("hub", Hub)
