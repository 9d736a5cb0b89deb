"""Delivery of agents' replies to the channel adapters.

A reply is stored first (status ``pending``), then posted as an :class:`OutboundMessage` to the
adapter host of its channel. A host that cannot be reached is retried with exponential backoff; the
agent sees every status change. Messages still pending after a restart are picked up again by the
reconciler, so a reply is never lost (delivery is at least once)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import aiohttp
import asyncpg
import structlog
from aiohttp import web

from context_store import conversations, interactions, messages
from context_store.records import Interaction, Message
from router.contracts import IdentityIn, NotAnIdentity, OutboundMessage, is_supervisor_author, phone_e164
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.events import publish_message_status

log = structlog.get_logger("router.service.outbound")

MAX_ATTEMPTS = 6
BASE_DELAY = 0.5


@dataclass
class Route:
    adapter: str
    channel: str
    url: str
    token: str


class Outbound:
    """Where each channel's replies go (the adapters' routes and what they declare they can do), and
    the delivery loop."""

    def __init__(self, pool: asyncpg.Pool, engine: Engine, directory: Directory, token: str) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.token = token
        self.routes: list[Route] = []
        self.capabilities: dict[str, list[str]] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._session: aiohttp.ClientSession | None = None
        self._inflight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def add_route(self, adapter: str, channel: str, url: str, token: str | None = None) -> None:
        """Where replies of a channel go; an adapter in its own process checks its own token."""
        self.routes.append(Route(adapter, channel, url, token or self.token))

    def declare(self, channel: str, capabilities: set[str]) -> None:
        """What an adapter of the channel can do; the desktop shows only what the channel supports."""
        self.capabilities[channel] = sorted(set(self.capabilities.get(channel, [])) | capabilities)

    def route_for(self, channel: str, from_kind: str | None) -> Route | None:
        candidates = [r for r in self.routes if r.channel == channel]
        for r in candidates:
            if from_kind and r.adapter == from_kind:
                return r
        return candidates[0] if candidates else None

    async def submit(self, message_id: str) -> None:
        if message_id not in self._inflight:
            self._inflight.add(message_id)
            await self._queue.put(message_id)

    async def deliver(self, message_id: str) -> None:
        """Hand one message to its adapter now and wait for the outcome (a campaign's send); its status
        says how it went."""
        self._inflight.add(message_id)
        await self._deliver(message_id)

    async def run(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        try:
            while True:
                message_id = await self._queue.get()
                task = asyncio.create_task(self._deliver(message_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            await self._session.close()

    async def _status(self, message: Message, status: str, detail: str | None) -> None:
        updated = await messages.set_status(self.pool, message.id, status, detail)
        if updated is not None:
            await publish_message_status(self.engine, message, status, detail)

    async def _deliver(self, message_id: str) -> None:
        try:
            message = await messages.get(self.pool, message_id)
            if message is None or message.status not in ("pending", "retrying"):
                return
            it = await interactions.get(self.pool, self.engine.namespace, message.interaction_id)
            if it is None:
                return  # a reply in another routing domain: that domain's servers deliver it
            # a message goes by its interaction's channel, or by its own (a survey texted after a call)
            channel = await messages.channel_of(self.pool, message.id) or it.channel
            route = self.route_for(channel, it.from_kind if channel == it.channel else None)
            if route is None:
                await self._status(message, "failed", f"no adapter is configured for channel {channel}")
                return
            body = await self._build(message, it, channel)
            delay = BASE_DELAY
            for attempt in range(1, MAX_ATTEMPTS + 1):
                error = await self._post(route, body)
                if error is None:
                    await self._status(message, "queued", f"handed to {route.adapter}")
                    log.info("outbound.handed_over", message_id=message_id, adapter=route.adapter)
                    return
                log.warning(
                    "outbound.retry",
                    message_id=message_id,
                    adapter=route.adapter,
                    attempt=attempt,
                    error=error,
                )
                if attempt == MAX_ATTEMPTS:
                    await self._status(message, "failed", f"adapter unreachable: {error}")
                    return
                await self._status(message, "retrying", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
        finally:
            self._inflight.discard(message_id)

    async def _post(self, route: Route, body: OutboundMessage) -> str | None:
        assert self._session is not None
        try:
            async with self._session.post(
                route.url,
                data=body.model_dump_json(),
                headers={"Authorization": f"Bearer {route.token}", "Content-Type": "application/json"},
            ) as resp:
                if resp.status < 300:
                    return None
                return f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return type(exc).__name__

    async def _build(self, message: Message, it: Interaction, channel: str) -> OutboundMessage:
        refs = await conversations.thread_refs(self.pool, it.conversation_id)
        inbound = [r.external_id for r in refs if r.direction == "inbound"]
        agent = self.directory.agents.get(message.agent_id or "")
        to = IdentityIn(kind=it.from_kind or "unknown", value=it.from_value or "unknown")
        if channel != it.channel and it.from_value:
            # a text to a caller (a survey after a call) goes to the caller's number in E.164
            with contextlib.suppress(NotAnIdentity):
                to = IdentityIn(kind="phone", value=phone_e164(it.from_value))
        return OutboundMessage(
            message_id=str(message.id),
            interaction_id=str(it.id),
            conversation_id=str(it.conversation_id),
            customer_id=str(it.customer_id),
            channel=channel,
            to=to,
            body=message.body,
            agent_id=message.agent_id,
            agent_name=agent.name
            if agent
            else (SUPERVISOR_NAME if is_supervisor_author(message.agent_id) else None),
            subject=it.subject,
            in_reply_to=inbound[-1] if inbound else None,
            references=[r.external_id for r in refs],
            attributes=it.attributes,
        )


SUPERVISOR_NAME = "Supervisor"
"""The name a supervisor's message (a barge) goes out under."""

OUTBOUND = web.AppKey("outbound", Outbound)
