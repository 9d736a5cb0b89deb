"""What a supervisor does over the supervisor socket: watch and unwatch a live interaction, whisper to
the agent holding it, barge in (write to the customer as the supervisor) and take it over (move it to
the supervisor's own agent desktop). Every action is audited with the token's id; only supervisor and
admin tokens open the socket, so an agent token can do none of them."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import structlog

from agent_desktop import frames
from context_store import interactions, quality
from context_store.db import parse_uuid
from context_store.records import Interaction
from router.contracts import SUPERVISOR_AUTHOR, Channel, InteractionStatus, MessageIn
from router.errors import BadRequest, Conflict, NotFound
from router.realtime.hub import SupervisorSession
from router.routing import events
from router.routing.engine import Engine
from router.service.auth import Principal
from router.service.work import Work

log = structlog.get_logger("router.realtime.supervision")

SupervisorAction = frames.Watch | frames.Unwatch | frames.Whisper | frames.Barge | frames.TakeOver


def author(principal: Principal) -> str:
    """Who a supervisor's action names: ``supervisor:<token id>`` (``supervisor:admin`` for the
    configured admin token, which has no id)."""
    return SUPERVISOR_AUTHOR + (principal.token_id or principal.role.value)


def by(principal: Principal) -> str:
    """The supervisor as a whisper or a take-over names them to the agent: role, and token id."""
    return principal.role.value + (f":{principal.token_id}" if principal.token_id else "")


class Supervision:
    def __init__(self, pool: asyncpg.Pool, engine: Engine, work: Work) -> None:
        self.pool = pool
        self.engine = engine
        self.work = work

    async def act(
        self, sup: SupervisorSession, principal: Principal, frame: SupervisorAction
    ) -> dict[str, Any]:
        """Do one action and record it in the interaction's audit; the ``ack``'s result. Raises an
        :class:`~router.errors.OmnirouteError` (nothing done, nothing recorded) when it cannot be done.
        A barge or take-over is recorded once done (a message stored, a transfer committed): should the
        audit then fail, the error frame says so although the action stands."""
        iid = parse_uuid(frame.interaction_id)
        it = await interactions.get(self.pool, self.engine.namespace, iid) if iid else None
        if it is None:
            raise NotFound(f"interaction {frame.interaction_id} not found")
        result: dict[str, Any] = {"interaction_id": str(it.id), "status": it.status}
        recorded: dict[str, Any] = {}
        if isinstance(frame, frames.Watch):
            sup.watching.add(str(it.id))
        elif isinstance(frame, frames.Unwatch):
            sup.watching.discard(str(it.id))
        elif isinstance(frame, frames.Whisper):
            holder = _holder(it, InteractionStatus.assigned, InteractionStatus.wrapup)
            recorded = {"body": frame.body, "agent_id": holder}
        elif isinstance(frame, frames.Barge):
            holder = _holder(it, InteractionStatus.assigned)
            if it.channel == Channel.voice:
                raise BadRequest("a voice interaction has no text channel to write to")
            message, _ = await self.work.ingest.add_message(
                str(it.id), MessageIn(direction="outbound", body=frame.body, agent_id=author(principal))
            )
            recorded = {"body": frame.body, "agent_id": holder, "message_id": str(message.id)}
            result["message_id"] = str(message.id)
        else:
            holder = _holder(it, InteractionStatus.assigned)
            if frame.agent_id == holder:
                raise Conflict(f"agent {holder} already holds interaction {it.id}")
            moved = await self.work.transfer(holder, str(it.id), None, None, None, to_agent=frame.agent_id)
            recorded = {"agent_id": holder, "to_agent": frame.agent_id, "to_interaction": moved}
            result["to_interaction"] = moved
            # the transfer is done: the agent who held it is told before anything else can fail
            await events.publish(
                self.engine,
                "taken_over",
                {
                    "interaction_id": str(it.id),
                    "agent_id": holder,
                    "to_agent": frame.agent_id,
                    "to_interaction": moved,
                    "by": by(principal),
                },
            )
            log.info(
                "interaction.taken_over", interaction_id=str(it.id), agent_id=holder, to_agent=frame.agent_id
            )
        await quality.audit(
            self.pool,
            self.engine.namespace,
            it.id,
            frame.type,
            principal.role.value,
            principal.token_id,
            recorded,
        )
        if isinstance(frame, frames.Whisper):
            # the agent's desktop only: a whisper event names no customer-facing route
            await events.publish(
                self.engine,
                "whisper",
                {
                    "interaction_id": str(it.id),
                    "agent_id": recorded["agent_id"],
                    "body": frame.body,
                    "by": by(principal),
                    "at": time.time(),
                },
            )
        return result


def _holder(it: Interaction, *statuses: InteractionStatus) -> str:
    """The agent holding the interaction, in one of these statuses; else :class:`Conflict`."""
    if it.status not in statuses or not it.agent_id:
        raise Conflict(f"no agent holds interaction {it.id} (it is {it.status})")
    return it.agent_id
