"""The agent desktop socket and the supervisor socket.

A socket is opened only while PostgreSQL and Redis answer (503 problem+json before the upgrade
otherwise). Once open, nothing a client sends closes it: a malformed, refused or too deeply nested
frame, and a backend error while a frame is handled, are each answered with an ``error`` frame
(echoing the frame's ``ref``) and the socket stays open. Every frame out goes through the socket's
:class:`~router.realtime.outbox.Outbox`. The agent socket's first frame is always ``hello``. A dropped
agent socket revokes the agent's open offers at once and keeps its assigned work for the reconnect
grace period."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
import structlog
from aiohttp import WSMsgType, web
from pydantic import ValidationError

from agent_desktop import frames
from context_store import callbacks as callbacks_store
from context_store.db import ping
from context_store.records import Callback, Interaction
from router.backends import UNAVAILABLE
from router.contracts import (
    Channel,
    ContextRecord,
    InteractionOut,
    Role,
    Why,
    parse_json,
    strip_unstorable,
    validation_errors,
)
from router.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    NotReady,
    OmnirouteError,
    Unavailable,
)
from router.node import Node
from router.realtime import collisions
from router.realtime.hub import (
    AgentSession,
    Hub,
    SupervisorSession,
    callback_info,
    callback_view,
    work_view,
)
from router.realtime.outbox import CLOSE_SECONDS, TRY_AGAIN_LATER, Outbox
from router.realtime.supervision import Supervision
from router.realtime.views import ViewState
from router.routing import events
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.service import merges
from router.service.auth import Principal, TokenCache, authenticate
from router.service.callbacks import Callbacks, Unread
from router.service.outbound import Outbound
from router.service.presence import Presence
from router.service.work import Work

log = structlog.get_logger("router.realtime.sockets")

MAX_FRAME_BYTES = 1 << 20
PROBE_SECONDS = 2.0
"""How long the backends get to answer before a socket is refused with 503."""

BACKEND_ERRORS = UNAVAILABLE
"""A backend that did not answer: the frame is answered ``unavailable`` and may be sent again."""
REFUSED: tuple[type[BaseException], ...] = (OmnirouteError, *BACKEND_ERRORS)
ASSIGNED_RETRY_SECONDS = 0.5
ASSIGNED_RETRY_FOR_SECONDS = 120.0
"""An ``assigned`` frame whose read failed after the accept is tried again this often, this long."""


_EVENT_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")


def _is_event_id(value: str) -> bool:
    """A Redis stream id (``<ms>`` or ``<ms>-<seq>``, each part below 2**64)."""
    m = _EVENT_ID.fullmatch(value)
    return m is not None and all(int(part) < 2**64 for part in m.groups(default="0"))


def parse_frame(text: str) -> Any:
    """A client frame's JSON; ``ValueError`` (:class:`~router.contracts.BodyError`) when it is not JSON,
    holds ``NaN`` or nests deeper than :data:`~router.contracts.MAX_JSON_DEPTH` levels."""
    return parse_json(text)


def _unavailable(ref: str | None = None) -> frames.Error:
    return frames.Error(code="unavailable", detail="a backing service is unavailable; retry shortly", ref=ref)


FALLBACK_CAPABILITIES = {ch.value: list(ch.spec.capabilities) for ch in Channel}


def channel_capabilities(declared: dict[str, list[str]]) -> dict[str, list[str]]:
    """What each channel can do, as its adapters declare it (a table for channels served elsewhere)."""
    return {**FALLBACK_CAPABILITIES, **declared}


class Sockets:
    """The two websocket endpoints of this process."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        node: Node,
        hub: Hub,
        work: Work,
        tokens: TokenCache,
        outbound: Outbound | None,
        presence: Presence,
        callbacks: Callbacks | None = None,
    ) -> None:
        self.callbacks = callbacks
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.node = node
        self.hub = hub
        self.work = work
        self.tokens = tokens
        self.outbound = outbound
        self.presence = presence
        self.supervision = Supervision(pool, engine, work)
        self._later: set[asyncio.Task[None]] = set()

    def outbound_capabilities(self) -> dict[str, list[str]]:
        return self.outbound.capabilities if self.outbound is not None else {}

    async def backends_answer(self) -> None:
        """Refuse (503, before any upgrade) while PostgreSQL or Redis does not answer or the live index is
        being rebuilt: a socket accepted then would only be dropped."""
        try:
            async with asyncio.timeout(PROBE_SECONDS):
                built = await self.engine.is_built()
                await ping(self.pool)
        except BACKEND_ERRORS as exc:
            log.warning("socket.refused_backend_unavailable", error=type(exc).__name__)
            raise Unavailable(f"{type(exc).__name__}; retry shortly") from exc
        if built is None:
            raise NotReady("the live routing index is being rebuilt; retry shortly")

    async def hello(
        self, agent_id: str, session_id: str, state: str, since: float, reason: str = ""
    ) -> frames.Hello:
        cfg = self.directory.agents[agent_id]
        items = []
        for iid in await self.engine.agent_work(agent_id):
            view = await work_view(self.pool, self.engine.namespace, iid)
            if view is not None:
                live = await self.engine.interaction_live(iid)
                until = float(live["wrapup_until"]) / 1000 if live.get("wrapup_until") else None
                cb = await callback_info(
                    self.pool, self.engine.namespace, iid, self.directory.queues.get(view[0].queue)
                )
                items.append(
                    frames.WorkItem(
                        interaction=view[0],
                        context=view[1],
                        wrapup_until=until,
                        collisions=collisions.of_record(view[1], view[0].id, agent_id),
                        callback=cb,
                    )
                )
        offers = []
        for o in await self.engine.agent_offers(agent_id):
            why = Why.model_validate_json(o["why"]) if o.get("why") else None
            frame = await self.hub.offer_frame(o["offer_id"], o["i"], float(o["deadline"]), why, agent_id)
            if frame is not None:
                offers.append(frames.OfferInfo.model_validate(frame.model_dump(exclude={"type"})))
        return frames.Hello(
            agent_id=agent_id,
            session_id=session_id,
            name=cfg.name,
            state=state,
            state_since=since,
            state_reason=reason,
            away_reasons=self.presence.settings.allowed(),
            dispositions={
                q: list(cfg.dispositions)
                for q, cfg in sorted(self.directory.queues.items())
                if cfg.dispositions
            },
            skills=dict(cfg.skills),
            capacity=cfg.full_capacity(),
            work=items,
            offers=offers,
            queues=sorted(self.directory.queues),
            channels=channel_capabilities(self.outbound_capabilities()),
        )

    async def agent_socket(self, request: web.Request) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        principal = await authenticate(request, self.tokens, Role.agent, allow_query=True)
        if principal.role != Role.agent or principal.agent_id != agent_id:
            raise Forbidden("an agent token opens only its own agent's socket")
        if agent_id not in self.directory.agents:
            raise NotFound(f"agent {agent_id} is not configured")
        await self.backends_answer()
        # no per-message compression: offers carry large context records, and deflating each costs more CPU
        # on the hot path than it saves on a LAN
        ws = web.WebSocketResponse(
            heartbeat=20, max_msg_size=MAX_FRAME_BYTES, compress=False, timeout=CLOSE_SECONDS
        )
        await ws.prepare(request)
        self.hub.all_sockets.add(ws)
        outbox = Outbox(ws, request.transport, self.hub.metrics, "agent", held=True)
        self.hub.token_sockets.watch(outbox, principal)
        session = AgentSession(agent_id, uuid.uuid4().hex, outbox)
        structlog.contextvars.bind_contextvars(agent_id=agent_id)
        try:
            await self._open_agent(session)
            async for msg in ws:
                if session.closed:
                    continue  # replaced or too slow: closing, nothing more is done for it
                if msg.type == WSMsgType.TEXT:
                    await self._agent_frame(session, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    session.send(frames.Error(code="invalid_frame", detail="frames are JSON text"))
        finally:
            self.hub.detach(session)
            try:
                # a no-op (a stale session) unless this socket is the agent's current session
                await self.engine.presence(
                    agent_id, "disconnect", session.session_id, self.node.id, "", self.node.grace_ms
                )
            except REFUSED:
                log.warning("agent.disconnect_not_recorded")
            log.info("agent.disconnected", session=session.session_id)
            await outbox.wait_closed()
            structlog.contextvars.unbind_contextvars("agent_id")
        return ws

    async def _open_agent(self, session: AgentSession) -> None:
        """Make the session current in the live index and here, then send ``hello`` ahead of anything that
        was queued for the session meanwhile. A session that lost a race to a newer desktop of the same
        agent is closed with 4001; a backend that fails now closes the socket with 1013 (try again)."""
        agent_id = session.agent_id
        try:
            presence = await self.engine.presence(agent_id, "connect", session.session_id, self.node.id, "")
            assert presence is not None, "a connect is never stale"
            session.state, session.reason, session.epoch = presence.state, presence.reason, presence.epoch
            if not self.hub.attach(session):
                log.info("agent.superseded", session=session.session_id, epoch=session.epoch)
                session.replaced()
                return
            log.info("agent.connected", session=session.session_id, epoch=session.epoch)
            hello = await self.hello(
                agent_id, session.session_id, presence.state, presence.since, presence.reason
            )
            session.outbox.first(hello.model_dump_json())
        except REFUSED as exc:
            log.warning("agent.open_failed", error=type(exc).__name__)
            if isinstance(exc, OmnirouteError):
                error = frames.Error(code=exc.code, detail=exc.detail)
            else:
                error = _unavailable()
            session.outbox.close(TRY_AGAIN_LATER, "try again later", last=error.model_dump_json())

    async def _agent_frame(self, session: AgentSession, text: str) -> None:
        ref: str | None = None
        try:
            raw = parse_frame(text)
            if isinstance(raw, dict) and isinstance(raw.get("ref"), str):
                ref = strip_unstorable(raw["ref"])[:100]
            frame = frames.agent_client_frame.validate_python(raw)
        except ValueError as exc:  # not JSON, too deep, or not a valid frame (ValidationError)
            if isinstance(exc, ValidationError):
                detail, errs = "malformed frame", validation_errors(exc)
            else:
                detail, errs = f"malformed frame: {exc}", None
            session.send(frames.Error(code="invalid_frame", detail=detail, ref=ref, errors=errs))
            return
        try:
            result = await self._dispatch(session, frame)
        except OmnirouteError as exc:
            session.send(frames.Error(code=exc.code, detail=exc.detail, ref=ref, errors=exc.errors))
            return
        except BACKEND_ERRORS as exc:
            # a frame that writes to both stores (accept, reject, complete, transfer, end_wrapup) is never
            # half applied (router/service/work.py orders or takes back its steps), so an error here means
            # nothing changed: the desktop's view still holds and the socket stays open
            log.warning("socket.frame_backend_unavailable", frame=frame.type, error=type(exc).__name__)
            session.send(_unavailable(ref))
            return
        except Exception:  # last resort: the socket stays open; the error is logged with its trace
            log.exception("socket.frame_failed", frame=frame.type)
            session.send(frames.Error(code="internal", detail="the error was logged", ref=ref))
            return
        session.send(frames.Ack(ref=ref, result=result))

    async def _dispatch(self, s: AgentSession, f: Any) -> dict[str, Any]:
        agent = s.agent_id
        if isinstance(f, frames.SetState):
            self.presence.check(f.state.value, f.reason)  # a reason not allowed changes nothing
            presence = await self.engine.presence(
                agent, "state", s.session_id, self.node.id, f.state.value, reason=f.reason
            )
            if presence is None:
                raise Forbidden("this desktop session was replaced by a newer one")
            s.state, s.reason = presence.state, presence.reason
            # the `state` frame follows from the change's agent_state event (as for changes the router makes)
            return {"state": presence.state, "reason": presence.reason, "state_since": presence.since}
        if isinstance(f, frames.Accept):
            taken = await self.work.accept(agent, f.offer_id)
            iid = str(taken.interaction.id)
            # the accept is applied: a read that fails now must not answer an error for work the agent
            # holds; the assigned frame then follows once PostgreSQL answers again
            known = await self._send_assigned(s, iid, taken.interaction, callback=taken.callback)
            if await self._dial_callback(agent, iid, known):
                return {"interaction_id": iid, "dialing": True}
            return {"interaction_id": iid}
        if isinstance(f, frames.Reject):
            iid = await self.work.reject(agent, f.offer_id, f.reason)
            return {"interaction_id": iid}
        if isinstance(f, frames.SendMessage):
            message = await self.work.send_message(agent, f.interaction_id, f.body, f.subject)
            return {"message_id": str(message.id)}
        if isinstance(f, frames.AddNote):
            note = await self.work.add_note(agent, f.interaction_id, f.body)
            return {"note_id": str(note.id)}
        if isinstance(f, frames.Complete):
            until = await self.work.complete(agent, f.interaction_id, f.disposition, f.summary)
            s.send(
                frames.InteractionEnded(
                    interaction_id=f.interaction_id, reason="completed", wrapup_until=until
                )
            )
            return {"wrapup_until": until}
        if isinstance(f, frames.Transfer):
            new_id = await self.work.transfer(
                agent, f.interaction_id, f.queue, f.channel, f.note, to_agent=f.agent_id, mode=f.mode
            )
            if f.mode == "cold":  # warm: the sender keeps it until the target accepts
                s.send(frames.InteractionEnded(interaction_id=f.interaction_id, reason="transferred"))
            return {"interaction_id": new_id}
        if isinstance(f, frames.EndWrapup):
            await self.work.end_wrapup(agent, f.interaction_id)
            return {}
        if isinstance(f, frames.LinkCustomer):
            done = await merges.link_customer(self.pool, self.engine, agent, f.interaction_id, f.customer_id)
            return {"merge_id": done.id, "customer_id": done.customer_id}
        if isinstance(f, frames.CallbackResult):
            if self.callbacks is None:
                raise Conflict("callbacks are not served here")
            settled = await self.callbacks.result(agent, f.interaction_id, f.outcome)
            if settled.status != "connected":
                s.send(
                    frames.InteractionEnded(interaction_id=f.interaction_id, reason=f"callback_{f.outcome}")
                )
            return {"status": settled.status, "attempt": settled.attempt, "retry_at": settled.retry_at}
        return {}  # ping

    async def _send_assigned(
        self, s: AgentSession, interaction_id: str, it: Interaction | None = None, *, callback: bool = True
    ) -> Callback | Unread | None:
        """The ``assigned`` frame (the work with its context; ``it``: the interaction as just written, not
        read again; ``callback``: False when the live index said it is no callback, so its row is not
        read). When PostgreSQL does not answer, it is sent by a task that tries again every
        ``ASSIGNED_RETRY_SECONDS`` while the socket is open (the work is also listed in the next
        ``hello``). Returns the callback row read for the frame (None: no callback), ``Unread`` when the
        frame was deferred."""
        try:
            view = await work_view(self.pool, self.engine.namespace, interaction_id, it)
            if view is not None:
                return await self._assigned(s, *view, callback=callback)
        except BACKEND_ERRORS as exc:
            log.warning("socket.assigned_deferred", interaction_id=interaction_id, error=type(exc).__name__)
            task = asyncio.create_task(self._assigned_later(s, interaction_id, callback))
            self._later.add(task)
            task.add_done_callback(self._later.discard)
        return Unread.unread

    async def _assigned(
        self, s: AgentSession, interaction: InteractionOut, record: ContextRecord, *, callback: bool = True
    ) -> Callback | None:
        """The ``assigned`` frame, with the customer's other live work that other agents hold (those
        agents are told of this one: a ``collision`` frame each) and, for a callback, the number to call
        (the callback row read is returned; not read when ``callback`` is False). Raises BACKEND_ERRORS
        when the callback cannot be read: the caller tries again."""
        row = (
            await callbacks_store.get(self.pool, self.engine.namespace, interaction.id) if callback else None
        )
        cb = callback_view(row, self.directory.queues.get(interaction.queue))
        found = collisions.of_record(record, interaction.id, s.agent_id)
        s.send(frames.Assigned(interaction=interaction, context=record, collisions=found, callback=cb))
        if found:
            try:
                await collisions.tell_holders(
                    self.engine, interaction.id, s.agent_id, interaction.channel.value, found
                )
            except BACKEND_ERRORS as exc:  # the accept stands; the holders see it in their next record
                log.warning(
                    "socket.collision_not_told", interaction_id=interaction.id, error=type(exc).__name__
                )
        return row

    async def _assigned_later(self, s: AgentSession, interaction_id: str, callback: bool = True) -> None:
        deadline = time.monotonic() + ASSIGNED_RETRY_FOR_SECONDS
        while not s.closed and time.monotonic() < deadline:
            await asyncio.sleep(ASSIGNED_RETRY_SECONDS)
            try:
                view = await work_view(self.pool, self.engine.namespace, interaction_id)
                if view is None or s.closed:
                    return
                known = await self._assigned(s, *view, callback=callback)
            except BACKEND_ERRORS:
                continue
            await self._dial_callback(s.agent_id, interaction_id, known)
            return

    async def _dial_callback(
        self, agent_id: str, interaction_id: str, known: Callback | Unread | None
    ) -> bool:
        """Dial an accepted callback (True: the voice adapter was asked to). The accept stands whatever
        happens here: with the ``assigned`` frame deferred (``known`` unread) the dial follows that frame
        when it is sent, and a backend that fails while dialing is logged (the agent dials by hand), never
        answered as an error for work the agent now holds."""
        if self.callbacks is None or known is None or known is Unread.unread:
            return False
        try:
            return await self.callbacks.dial(agent_id, interaction_id, known)
        except BACKEND_ERRORS as exc:
            log.warning("callback.dial_deferred", interaction_id=interaction_id, error=type(exc).__name__)
            return False

    async def supervisor_socket(self, request: web.Request) -> web.StreamResponse:
        principal = await authenticate(request, self.tokens, Role.supervisor, allow_query=True)
        after = request.query.get("after")
        bad_after = bool(after) and not _is_event_id(after or "")
        await self.backends_answer()
        ws = web.WebSocketResponse(
            heartbeat=20, max_msg_size=64 * 1024, compress=False, timeout=CLOSE_SECONDS
        )
        await ws.prepare(request)
        self.hub.all_sockets.add(ws)
        outbox = Outbox(ws, request.transport, self.hub.metrics, "supervisor")
        self.hub.token_sockets.watch(outbox, principal)
        sup = SupervisorSession(outbox, raw_events=request.query.get("events") in ("1", "true"))
        try:
            view_error = _query_view(sup, request.query)
            if view_error is not None:
                sup.send(view_error)
            if bad_after:
                # bad input on a socket is an error frame on a socket that stays open: the wallboard is
                # told, and continues from the snapshot (nothing to replay after an id that is none)
                sup.send(
                    frames.Error(
                        code=BadRequest.code,
                        detail="after is an event id, as in 1700000000000-0; nothing was replayed",
                        errors=[{"loc": ["query", "after"], "msg": "not an event id", "type": "value_error"}],
                    )
                )
                after = None
            await self._open_supervisor(sup, after)
            async for msg in ws:
                if msg.type != WSMsgType.TEXT or sup.outbox.closing:
                    continue
                await self._supervisor_frame(sup, principal, msg.data)
        finally:
            self.hub.supervisors.discard(sup)
            await outbox.wait_closed()
        return ws

    async def _supervisor_frame(self, sup: SupervisorSession, principal: Principal, text: str) -> None:
        """``watch``, ``unwatch``, ``whisper``, ``barge``, ``take_over`` (``router/realtime/supervision.py``)
        or ``ping``: answered with an ``ack`` or an ``error``; the socket stays open whatever the frame."""
        ref: str | None = None
        try:
            raw = parse_frame(text)
            if isinstance(raw, dict) and isinstance(raw.get("ref"), str):
                ref = strip_unstorable(raw["ref"])[:100]
            frame = frames.supervisor_client_frame.validate_python(raw)
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                detail, errs = "malformed frame", validation_errors(exc)
            else:
                detail, errs = f"malformed frame: {exc}", None
            sup.send(frames.Error(code="invalid_frame", detail=detail, ref=ref, errors=errs))
            return
        if isinstance(frame, frames.Ping):
            sup.send(frames.Ack(ref=ref))
            return
        try:
            if isinstance(frame, frames.View):
                page = await self.hub.set_view(sup, frame.queue, frame.page, frame.page_size)
                sup.send(frames.Ack(ref=ref, result=page.view.model_dump()))
                sup.send(page)
                return
            result = await self.supervision.act(sup, principal, frame)
        except REFUSED as exc:
            if isinstance(exc, OmnirouteError):
                sup.send(frames.Error(code=exc.code, detail=exc.detail, ref=ref, errors=exc.errors))
            else:
                sup.send(_unavailable(ref))
            return
        sup.send(frames.Ack(ref=ref, result=result))

    async def _open_supervisor(self, sup: SupervisorSession, after: str | None) -> None:
        """Replay the events after ``after`` (a valid event id), then the snapshot; from then on
        the hub pushes. A backend that fails now closes with 1013 (try again)."""
        try:
            if after:
                for event_id, kind, data in await events.read_after(self.engine, after):
                    sup.send(frames.EventFrame(event_id=event_id, kind=kind, data=data))
            sup.send(await self.hub.snapshot(sup.view))
            sup.send(await self.hub.blending_frame())
            self.hub.supervisors.add(sup)
        except REFUSED as exc:
            log.warning("supervisor.open_failed", error=type(exc).__name__)
            sup.outbox.close(TRY_AGAIN_LATER, "try again later", last=_unavailable().model_dump_json())


def _query_view(sup: SupervisorSession, query: Mapping[str, str]) -> frames.Error | None:
    """The socket's first view from ``?queue=&page=&page_size=`` (as a ``view`` frame would set it);
    an ``error`` frame naming the bad parameters, which are then left at their defaults."""
    raw: dict[str, Any] = {"type": "view"}
    for name in ("queue", "page", "page_size"):
        if name in query:
            raw[name] = query[name]
    if len(raw) == 1:
        return None
    try:
        view = frames.View.model_validate(raw, strict=False)
    except ValidationError as exc:
        errs = [{**e, "loc": ["query", *e["loc"]]} for e in validation_errors(exc)]
        return frames.Error(code=BadRequest.code, detail="queue, page or page_size is not valid", errors=errs)
    sup.view = ViewState(view.queue or None, view.page, view.page_size)
    return None


SOCKETS = web.AppKey("sockets", Sockets)
