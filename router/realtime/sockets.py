"""The agent desktop socket and the supervisor socket.

A malformed or refused frame is answered with an ``error`` frame (echoing the frame's ``ref``) and
the socket stays open. A dropped agent socket revokes the agent's open offers at once and keeps
its assigned work for the reconnect grace period."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import asyncpg
import structlog
from aiohttp import WSMsgType, web
from pydantic import ValidationError

from agent_desktop import frames
from router.contracts import Channel, Role
from router.errors import BadRequest, Forbidden, NotFound, OmnirouteError
from router.node import Node
from router.realtime.hub import AgentSession, Hub, SupervisorSession, work_view
from router.routing import events
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.service.auth import TokenCache, authenticate
from router.service.outbound import Outbound
from router.service.work import Work

log = structlog.get_logger("router.realtime.sockets")

MAX_FRAME_BYTES = 1 << 20


_EVENT_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")


def _is_event_id(value: str) -> bool:
    """A Redis stream id (``<ms>`` or ``<ms>-<seq>``, each part below 2**64)."""
    m = _EVENT_ID.fullmatch(value)
    return m is not None and all(int(part) < 2**64 for part in m.groups(default="0"))


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


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
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.node = node
        self.hub = hub
        self.work = work
        self.tokens = tokens
        self.outbound = outbound

    def outbound_capabilities(self) -> dict[str, list[str]]:
        return self.outbound.capabilities if self.outbound is not None else {}

    async def hello(self, agent_id: str, state: str, since: float) -> frames.Hello:
        cfg = self.directory.agents[agent_id]
        items = []
        for iid in await self.engine.agent_work(agent_id):
            view = await work_view(self.pool, iid)
            if view is not None:
                live = await self.engine.interaction_live(iid)
                until = float(live["wrapup_until"]) / 1000 if live.get("wrapup_until") else None
                items.append(frames.WorkItem(interaction=view[0], context=view[1], wrapup_until=until))
        offers = []
        for o in await self.engine.agent_offers(agent_id):
            frame = await self.hub.offer_frame(o["offer_id"], o["i"], float(o["deadline"]))
            if frame is not None:
                offers.append(frames.OfferInfo.model_validate(frame.model_dump(exclude={"type"})))
        return frames.Hello(
            agent_id=agent_id,
            name=cfg.name,
            state=state,
            state_since=since,
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
        # no per-message compression: offers carry large context records, and deflating each costs more CPU
        # on the hot path than it saves on a LAN
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=MAX_FRAME_BYTES, compress=False)
        await ws.prepare(request)
        self.hub.all_sockets.add(ws)
        session = AgentSession(agent_id, uuid.uuid4().hex, ws)
        structlog.contextvars.bind_contextvars(agent_id=agent_id)
        old = self.hub.attach(session)
        if old is not None and not old.ws.closed:
            await old.ws.close(code=4001, message=b"session replaced")
        try:
            presence = await self.engine.presence(agent_id, "connect", session.session_id, self.node.id, "")
            assert presence is not None
            session.state = presence.state
            log.info("agent.connected", session=session.session_id)
            await session.send(await self.hello(agent_id, presence.state, presence.since))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._agent_frame(session, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await session.send(frames.Error(code="invalid_frame", detail="frames are JSON text"))
        finally:
            if self.hub.detach(session):
                try:
                    await self.engine.presence(
                        agent_id, "disconnect", session.session_id, self.node.id, "", self.node.grace_ms
                    )
                except OmnirouteError:
                    log.warning("agent.disconnect_not_recorded")
            log.info("agent.disconnected", session=session.session_id)
            structlog.contextvars.unbind_contextvars("agent_id")
        return ws

    async def _agent_frame(self, session: AgentSession, text: str) -> None:
        ref: str | None = None
        try:
            raw = json.loads(text)
            if isinstance(raw, dict) and isinstance(raw.get("ref"), str):
                ref = raw["ref"]
            frame = frames.agent_client_frame.validate_python(raw)
        except (ValueError, ValidationError) as exc:
            errs = _errors(exc) if isinstance(exc, ValidationError) else None
            await session.send(
                frames.Error(code="invalid_frame", detail="malformed frame", ref=ref, errors=errs)
            )
            return
        try:
            result = await self._dispatch(session, frame)
        except OmnirouteError as exc:
            await session.send(frames.Error(code=exc.code, detail=exc.detail, ref=ref, errors=exc.errors))
            return
        await session.send(frames.Ack(ref=ref, result=result))

    async def _dispatch(self, s: AgentSession, f: Any) -> dict[str, Any]:
        agent = s.agent_id
        if isinstance(f, frames.SetState):
            presence = await self.engine.presence(agent, "state", s.session_id, self.node.id, f.state.value)
            if presence is None:
                raise Forbidden("this desktop session was replaced by a newer one")
            s.state = presence.state
            await s.send(frames.StateFrame(state=presence.state, state_since=presence.since))
            return {"state": presence.state}
        if isinstance(f, frames.Accept):
            iid = await self.work.accept(agent, f.offer_id)
            view = await work_view(self.pool, iid)
            if view is not None:
                await s.send(frames.Assigned(interaction=view[0], context=view[1]))
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
            await s.send(
                frames.InteractionEnded(
                    interaction_id=f.interaction_id, reason="completed", wrapup_until=until
                )
            )
            return {"wrapup_until": until}
        if isinstance(f, frames.Transfer):
            new_id = await self.work.transfer(agent, f.interaction_id, f.queue, f.channel, f.note)
            await s.send(frames.InteractionEnded(interaction_id=f.interaction_id, reason="transferred"))
            return {"interaction_id": new_id}
        if isinstance(f, frames.EndWrapup):
            await self.work.end_wrapup(agent, f.interaction_id)
            return {}
        return {}  # ping

    async def supervisor_socket(self, request: web.Request) -> web.StreamResponse:
        await authenticate(request, self.tokens, Role.supervisor, allow_query=True)
        after = request.query.get("after")
        if after and not _is_event_id(after):
            # refused before the upgrade: once the socket is open an error can no longer be answered
            raise BadRequest(
                "after is an event id, as in 1700000000000-0",
                errors=[{"loc": ["query", "after"], "msg": "not an event id"}],
            )
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024, compress=False)
        await ws.prepare(request)
        self.hub.all_sockets.add(ws)
        sup = SupervisorSession(ws, raw_events=request.query.get("events") in ("1", "true"))
        if after:
            for event_id, kind, data in await events.read_after(self.engine, after):
                await sup.send_json_text(
                    frames.EventFrame(event_id=event_id, kind=kind, data=data).model_dump_json()
                )
        await sup.send_json_text((await self.hub.snapshot()).model_dump_json())
        self.hub.supervisors.add(sup)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    raw = json.loads(msg.data)
                except ValueError:
                    raw = None
                if isinstance(raw, dict) and raw.get("type") == "ping":
                    ref = raw.get("ref") if isinstance(raw.get("ref"), str) else None
                    await sup.send_json_text(frames.Ack(ref=ref).model_dump_json())
                else:
                    detail = "the supervisor socket takes only ping frames; it pushes the rest"
                    await sup.send_json_text(
                        frames.Error(code="invalid_frame", detail=detail).model_dump_json()
                    )
        finally:
            self.hub.supervisors.discard(sup)
        return ws


SOCKETS = web.AppKey("sockets", Sockets)
