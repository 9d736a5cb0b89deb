"""Callbacks that keep their place (``docs/callbacks.md``).

A customer waiting in a queue asks to be called back (``POST /v1/interactions/{id}/callback``): the
interaction stays queued at its rank, marked a callback, and the customer may hang up. When an agent accepts
its offer, the voice adapter calls the customer and bridges the agent; the agent reports how the call went
(``callback_result``). A call that did not reach the customer puts the interaction back at its original
rank after the queue's ``callback_retry_seconds``, up to ``callback_attempts`` calls; after the last one it
ends (status ``ended``, end reason ``callback_unreachable``), never as abandoned.

As elsewhere the record and the live index change together: the PostgreSQL write and the Lua script run
in one transaction, the script last before the commit, so a script that refuses (not waiting, not held)
leaves nothing written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

import aiohttp
import asyncpg
import phonenumbers
import structlog
from aiohttp import web

from context_store import callbacks as store
from context_store import interactions
from context_store.db import parse_uuid
from context_store.records import Callback
from router.contracts import Channel, NotAnIdentity, phone_e164
from router.contracts.callbacks import CallbackDial, CallbackIn, CallbackOut
from router.errors import BadRequest, Conflict, Forbidden, NotFound
from router.metrics import Metrics
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.events import publish
from router.service.outbound import Outbound


class Unread(Enum):
    """A callback row not read yet (None is read: not a callback)."""

    unread = "unread"


log = structlog.get_logger("router.service.callbacks")

UNREACHABLE = "callback_unreachable"
"""The end reason of a callback whose calls never reached the customer."""


@dataclass(frozen=True)
class Settled:
    """What a ``callback_result`` did: ``connected``, ``retry`` (waits again at ``retry_at``) or ``ended``."""

    status: str
    attempt: int
    retry_at: float | None = None


def normalise_number(value: str, region: str) -> str:
    """The number in E.164 (a national number read in ``region``); :class:`BadRequest` (422) when it is
    not a valid telephone number."""
    try:
        e164 = phone_e164(value, region)
        valid = phonenumbers.is_valid_number(phonenumbers.parse(e164))
    except (NotAnIdentity, phonenumbers.NumberParseException):
        valid = False
    if not valid:
        raise BadRequest(
            f"{value!r} is not a telephone number that can be called",
            errors=[{"loc": ["number"], "msg": "not a valid telephone number", "type": "value_error"}],
        )
    return e164


class Callbacks:
    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        outbound: Outbound | None,
        metrics: Metrics,
        default_region: str,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.outbound = outbound
        self.metrics = metrics
        self.default_region = default_region
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # ------------------------------------------------------------ the request

    async def request(self, interaction_id: str, cin: CallbackIn) -> CallbackOut:
        """Mark a waiting interaction a callback: 404 unknown, 409 not waiting, 422 a bad number."""
        number = normalise_number(cin.number, self.default_region)
        iid = parse_uuid(interaction_id)
        it = await interactions.get(self.pool, self.engine.namespace, iid) if iid else None
        if it is None or iid is None:
            raise NotFound(f"interaction {interaction_id} not found")
        not_before_ms = int(cin.not_before.timestamp() * 1000) if cin.not_before else 0
        async with self.pool.acquire() as conn, conn.transaction():
            cb = await store.request(conn, self.engine.namespace, iid, number, cin.not_before)
            if cb is None:
                raise Conflict(f"interaction {interaction_id} is not waiting ({it.status})")
            await interactions.add_history(
                conn,
                iid,
                "callback_requested",
                not_before=cin.not_before.isoformat() if cin.not_before else None,
            )
            # last: a refusal (offered, assigned) rolls the record back
            status, _offer = await self.engine.callback(str(iid), number, not_before_ms)
        log.info("callback.requested", interaction_id=interaction_id, held=status == "held")
        position = await self.engine.position(it.queue, str(iid)) if status == "waiting" else None
        return _out(cb, position)

    # ------------------------------------------------------------ the call

    async def dial(
        self, agent_id: str, interaction_id: str, known: Callback | Unread | None = Unread.unread
    ) -> bool:
        """The agent accepted a callback: ask the voice adapter to call the customer and bridge the agent.
        False when it is no callback, or no voice adapter is configured (the agent dials by hand).
        ``known``: the interaction's callback row (None: none) when the caller has just read it."""
        cb = (
            await store.get(self.pool, self.engine.namespace, interaction_id)
            if known is Unread.unread
            else known
        )
        if cb is None:
            return False
        route = self.outbound.route_for(Channel.voice.value, None) if self.outbound else None
        if route is None:
            log.warning("callback.no_voice_adapter", interaction_id=interaction_id)
            return False
        agent = self.directory.agents.get(agent_id)
        dial = CallbackDial(
            interaction_id=interaction_id,
            number=cb.number,
            agent_id=agent_id,
            agent_address=agent.address if agent else None,
            attempt=cb.attempts + 1,
        )
        url = route.url.rsplit("/", 1)[0] + "/dial"
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        try:
            async with self._session.post(
                url,
                data=dial.model_dump_json(),
                headers={"Authorization": f"Bearer {route.token}", "Content-Type": "application/json"},
            ) as resp:
                ok = resp.status < 300
                detail = "" if ok else (await resp.text())[:300]
        except (aiohttp.ClientError, TimeoutError) as exc:
            ok, detail = False, type(exc).__name__
        await publish(
            self.engine,
            "callback_dialed",
            {
                "interaction_id": interaction_id,
                "agent_id": agent_id,
                "attempt": dial.attempt,
                "placed": ok,
                "detail": detail or None,
            },
        )
        if not ok:
            log.warning("callback.dial_failed", interaction_id=interaction_id, detail=detail)
        return ok

    # ------------------------------------------------------------ the outcome

    async def result(self, agent_id: str, interaction_id: str, outcome: str) -> Settled:
        """The agent's report of a callback call. ``connected``: it goes on as assigned work. Otherwise
        back to waiting at its rank after the queue's retry time, or, on the last attempt, the end."""
        iid = parse_uuid(interaction_id)
        it = await interactions.get(self.pool, self.engine.namespace, iid) if iid else None
        if it is None or iid is None:
            raise NotFound(f"interaction {interaction_id} not found")
        if it.agent_id != agent_id or it.status != "assigned":
            raise Forbidden(f"interaction {interaction_id} is not assigned to you")
        cb = await store.get(self.pool, self.engine.namespace, iid)
        if cb is None:
            raise Conflict(f"interaction {interaction_id} is not a callback")
        queue = self.directory.queues.get(it.queue)
        attempts = queue.callback_attempts if queue else 1
        retry_seconds = queue.callback_retry_seconds if queue else 0.0
        attempt = cb.attempts + 1
        retry_ms: int | None = None
        if outcome != "connected" and attempt < attempts:
            retry_ms = int(retry_seconds * 1000)
        held_until = (
            datetime.fromtimestamp(time.time() + retry_seconds, UTC) if retry_ms is not None else None
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await store.attempt(conn, self.engine.namespace, iid, outcome, held_until)
            if outcome == "connected":
                pass
            elif retry_ms is not None:
                await store.requeue(conn, self.engine.namespace, iid)
            else:
                await store.close(conn, self.engine.namespace, iid, UNREACHABLE)
            await interactions.add_history(
                conn, iid, f"callback_{outcome}", agent_id, attempt=attempt, of=attempts
            )
            status, at_ms = await self.engine.callback_result(agent_id, str(iid), outcome, retry_ms, attempt)
        log.info("callback.result", interaction_id=interaction_id, outcome=outcome, status=status)
        return Settled(status, attempt, at_ms / 1000 if at_ms else None)


def _out(cb: Callback, position: int | None) -> CallbackOut:
    return CallbackOut(
        interaction_id=str(cb.interaction_id),
        number=cb.number,
        not_before=cb.not_before,
        attempts=cb.attempts,
        last_outcome=cb.last_outcome,
        held_until=cb.held_until,
        position=position,
    )


CALLBACKS = web.AppKey("callbacks", Callbacks)
