"""Ingest: an inbound event becomes an interaction of one customer, durable in PostgreSQL first, then
queued (and possibly offered at once) in the live index.

Idempotency: the pair (channel, external_id) is locked for the transaction and looked up before
anything is written, so concurrent repeats of one event create one interaction; a message joining
an open interaction is deduplicated on its provider id the same way.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog
from aiohttp import web

from context_store import callbacks, conversations, customers, interactions, journey, messages, routing
from context_store.customers import Profile
from context_store.db import parse_uuid
from context_store.journey import DEFAULT_JOURNEY_CAP
from context_store.records import Interaction, JourneyEvent, Message
from router.contracts import (
    Channel,
    IdentityJourneyEventIn,
    InboundEvent,
    IngestResult,
    InteractionStatus,
    MessageIn,
    NotAnIdentity,
    QueueConfig,
    WithheldIdentity,
    normalize_identity,
)
from router.errors import BadRequest, Conflict, Forbidden, NotFound, NotReady
from router.metrics import Metrics
from router.routing.directory import Directory
from router.routing.engine import Engine, EnqueueResult, rank_score
from router.routing.estimates import ZERO as ZERO_WAIT
from router.routing.estimates import WaitEstimate
from router.routing.events import jsonable, publish
from router.routing.stats import Statistics
from router.service.campaigns import Campaigns
from router.service.keywords import ConsentKeywords
from router.service.outbound import Outbound
from router.service.surveys import Surveys
from router.service.waiting import Arrival, announce_arrival, arrival, opens_at

log = structlog.get_logger("router.service.ingest")

ENQUEUE_RETRY_SECONDS = 15.0
DEFAULT_PREFERENCE_SECONDS = 30.0  # how long preferred_agents hold when the queue's last_agent_seconds is 0


@dataclass
class _Written:
    interaction_id: uuid.UUID
    created: bool
    message: Message | None = None
    interaction: Interaction | None = None  # the new one
    routing: Preferences | None = None  # the new one's preferences
    arrival: Arrival | None = None  # where the new one went (closed, overflowed)


@dataclass(frozen=True)
class Preferences:
    """Who a new interaction is offered to first, and who never (``docs/architecture.md``, matching)."""

    preferred: list[str]
    window_ms: int
    avoid: list[str]


@dataclass
class _Keys:
    """What an inbound event says about who sent it (see ``docs/identity.md``)."""

    linking: list[tuple[str, str]]  # the channel's own address, then hints marked verified
    claimed: list[tuple[str, str]]  # unverified hints: shown as possible matches, never linked
    anonymous: bool  # the caller id was withheld
    verified: Profile  # facts that may fill an existing customer's empty profile fields
    claimed_profile: Profile  # what the event says of a customer it creates
    refused: dict[str, str]  # raw addresses that are not identities, kept on the interaction


def _keys(ev: InboundEvent, region: str) -> _Keys:
    """The event's identity keys, read in the event's region or else the deployment's default."""
    region = ev.region or region
    out = _Keys([], [], False, Profile(), Profile(), {})
    try:
        own = normalize_identity(ev.from_.kind, ev.from_.value, region)
    except WithheldIdentity:
        out.anonymous = True
    except NotAnIdentity:
        out.refused["raw_from"] = ev.from_.value
    else:
        out.linking.append(own)
        kind, value = own
        out.verified = Profile(
            email=value if kind == "email" else None, phone=value if kind == "phone" else None
        )
    hints = ev.customer
    if hints is None:
        return out
    email = phone = None
    if hints.email:
        try:
            email = normalize_identity("email", hints.email, region)
        except NotAnIdentity:
            out.refused["raw_customer_email"] = hints.email
    if hints.phone:
        try:
            phone = normalize_identity("phone", hints.phone, region)
        except NotAnIdentity:
            out.refused["raw_customer_phone"] = hints.phone
    stated = Profile(hints.name, email[1] if email else None, phone[1] if phone else None)
    hinted = [k for k in (email, phone) if k is not None]
    if hints.verified:
        out.linking.extend(hinted)
        out.verified = out.verified.over(stated)
    else:
        out.claimed.extend(hinted)
        out.claimed_profile = stated
    return out


class Ingest:
    """Inbound events and messages become durable interactions, then live ones."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        stats: Statistics,
        metrics: Metrics,
        outbound: Outbound | None,
        default_region: str = "US",
        surveys: Surveys | None = None,
        keywords: ConsentKeywords | None = None,
        journey_cap: int = DEFAULT_JOURNEY_CAP,
    ) -> None:
        self.keywords = keywords  # STOP / START by SMS or WhatsApp: consent, not a contact to route
        self.default_region = default_region
        self.surveys = surveys
        self.journey_cap = journey_cap
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.stats = stats
        self.metrics = metrics
        self.outbound = outbound
        self.campaigns: Campaigns | None = None  # a contact that answers a campaign goes to its reply queue

    async def ingest(self, ev: InboundEvent) -> IngestResult:
        started = time.perf_counter()
        keys = _keys(ev, self.default_region)
        if self.keywords is not None:
            handled = await self.keywords.handle(ev, keys.linking, keys.verified.email, keys.verified.phone)
            if handled is not None:
                return handled
        join_open = ev.join_open if ev.join_open is not None else ev.channel != Channel.voice
        msg_ext = ev.message_external_id or (ev.external_id if ev.channel != Channel.voice else None)
        async with self.pool.acquire() as conn, conn.transaction():
            written = await self._write(conn, ev, keys, join_open, msg_ext)
        it = written.interaction or await interactions.get(
            self.pool, self.engine.namespace, written.interaction_id
        )
        assert it is not None
        if written.message is not None:
            await self._announce_message(it, written.message)
        if written.arrival is not None:
            await announce_arrival(self.engine, str(it.id), written.arrival)
        live: EnqueueResult | None = None
        if it.status == InteractionStatus.queued:
            live = await self.enqueue_row(it, prefs=written.routing)
            if written.created and live.status == "offered" and live.offer_id:
                # routing latency as an operator alerts on it: arrival to the offer, when an agent was free
                self.metrics.observe("ingest_to_offer", time.perf_counter() - started)
        self.metrics.inc(
            "interactions_ingested_total", channel=ev.channel.value, created=str(written.created).lower()
        )
        return await self.result_for(it, created=written.created, live=live)

    async def _write(
        self,
        conn: asyncpg.Connection,
        ev: InboundEvent,
        keys: _Keys,
        join_open: bool,
        msg_ext: str | None,
    ) -> _Written:
        channel = ev.channel.value
        # the provider's interaction id, then its message id, then the customer's keys (sorted): all the
        # locks, always in this order (a transaction that takes one of them alone takes no other ingest
        # lock first), then what they guard, read once they are held: one statement
        every = customers.resolution_keys(keys.linking, keys.claimed)
        locks = [interactions.external_id_lock(self.engine.namespace, channel, ev.external_id)]
        if msg_ext is not None:
            locks.append(messages.external_id_lock(channel, msg_ext))
        seen = await interactions.arrival_lookup(
            conn,
            self.engine.namespace,
            channel,
            ev.external_id,
            msg_ext,
            every,
            locks=locks + customers.resolution_locks(every),
        )
        if seen.existing is not None:
            return _Written(seen.existing, created=False)
        ref = seen.message
        if ref is not None:
            if await interactions.get(conn, self.engine.namespace, ref.interaction_id) is None:
                # a provider's message id names one message in the whole deployment: this one is
                # stored in another routing domain, whose interaction this domain must not show
                raise Conflict(
                    f"{channel} message {msg_ext!r} is stored in another routing domain",
                    errors=[{"loc": ["message_external_id"], "msg": "stored in another routing domain"}],
                )
            return _Written(ref.interaction_id, created=False)
        customer_id, new_customer = await customers.resolve(
            conn,
            keys.linking,
            claimed=keys.claimed,
            name=keys.verified.name,
            email=keys.verified.email,
            phone=keys.verified.phone,
            claimed_profile=keys.claimed_profile,
            anonymous=keys.anonymous,
            owners=seen.owners,
        )
        if keys.claimed_profile != Profile() and not new_customer:
            # unverified facts link only through the contact's own address: a customer of that address
            # created by a journey event before this first contact gets them as a new customer would
            await customers.fill_unreached_profile(conn, customer_id, keys.claimed_profile)
        conversation_id: uuid.UUID | None = None
        if ev.conversation_id:
            conversation_id = parse_uuid(ev.conversation_id)
            conv = await conversations.get(conn, conversation_id) if conversation_id else None
            if conv is None or conv.customer_id != customer_id:
                raise BadRequest(
                    "conversation_id does not name a conversation of this customer",
                    errors=[{"loc": ["conversation_id"], "msg": "unknown conversation for this customer"}],
                )
        elif ev.thread_refs:
            conversation_id = await conversations.by_message_refs(conn, ev.thread_refs)
        attachments = [a.model_dump(mode="json", exclude_none=True) for a in ev.attachments]
        # a customer created in this transaction has no open interaction, survey request or campaign
        # message yet (nothing else can see it before the commit): none of them is looked up
        if join_open and not new_customer:
            open_id = await interactions.open_for(
                conn, self.engine.namespace, customer_id, channel, conversation_id
            )
            if open_id is not None:
                joined = await interactions.get(conn, self.engine.namespace, open_id)
                assert joined is not None
                message = await messages.insert(
                    conn,
                    interaction_id=open_id,
                    conversation_id=joined.conversation_id,
                    channel=channel,
                    direction="inbound",
                    body=ev.content or "",
                    external_id=msg_ext,
                    attachments=attachments,
                )
                return _Written(open_id, created=False, message=message)
        if self.surveys is not None and not new_customer:
            # not in a conversation that is going on: a bare number texted back after a survey is its
            # answer, not a new contact
            answered = await self.surveys.reply(conn, customer_id, ev.channel, ev.content)
            if answered is not None:
                return _Written(answered[0], created=False, message=answered[1])
        campaign_reply = (
            await self.campaigns.reply(conn, customer_id)
            if self.campaigns is not None and not new_customer
            else None
        )
        reply_queue = campaign_reply[1] if campaign_reply is not None else None
        taking = self.directory.queues.get(reply_queue) if reply_queue is not None else None
        if taking is None or ev.channel not in taking.channels:
            reply_queue = None  # that queue does not take this channel: routed as any contact
        campaign_attributes = (
            {"campaign_id": campaign_reply[0], "campaign_message": campaign_reply[2]}
            if campaign_reply is not None
            else {}
        )
        queue_id = reply_queue or ev.queue or self.directory.choose_queue(channel, ev.attributes)
        if queue_id is None:
            raise BadRequest(
                f"no queue takes channel {channel}; name one or add a routing rule",
                errors=[{"loc": ["queue"], "msg": "no queue for this interaction"}],
            )
        queue = self.directory.queues.get(queue_id)
        if queue is None:
            raise BadRequest(
                f"unknown queue {queue_id!r}", errors=[{"loc": ["queue"], "msg": "unknown queue"}]
            )
        if ev.channel not in queue.channels:
            raise BadRequest(
                f"queue {queue_id!r} does not take channel {channel}",
                errors=[{"loc": ["channel"], "msg": f"queue {queue_id} does not take it"}],
            )
        arrived = await arrival(self.engine, self.directory, queue_id, ev.channel)
        queue_id = arrived.queue
        new_conversation = conversation_id is None
        conversation_id = conversation_id or uuid.uuid4()
        interaction_id = uuid.uuid4()
        priority = ev.priority if ev.priority is not None else queue.priority
        created = await interactions.create(
            conn,
            namespace=self.engine.namespace,
            interaction_id=interaction_id,
            customer_id=customer_id,
            conversation_id=conversation_id,
            new_conversation=new_conversation,
            channel=channel,
            external_id=ev.external_id,
            from_kind=ev.from_.kind,
            from_value=ev.from_.value,
            queue_id=queue_id,
            priority=priority,
            attributes={**ev.attributes, **keys.refused, **campaign_attributes},
            subject=ev.subject,
            venq_ms=int(time.time() * 1000),
        )
        if campaign_reply is not None and self.campaigns is not None:
            await self.campaigns.replied(conn, campaign_reply[0], customer_id, interaction_id)
        if not new_customer:  # a customer created in this transaction has this one event alone
            await journey.trim(conn, customer_id, self.journey_cap)  # its interaction.created event
        if ev.content or attachments:
            await messages.insert(
                conn,
                interaction_id=interaction_id,
                conversation_id=conversation_id,
                channel=channel,
                direction="inbound",
                body=ev.content or "",
                external_id=msg_ext,
                attachments=attachments,
            )
        if arrived.closed:
            # the queue is closed and rejects: the contact and its message are kept, nothing is queued
            closed = await interactions.close(
                conn, self.engine.namespace, interaction_id, InteractionStatus.closed, "queue_closed"
            )
            assert closed is not None
            await interactions.add_history(
                conn, interaction_id, InteractionStatus.closed, reason="queue_closed"
            )
            return _Written(interaction_id, created=True)
        prefs = await self._preferences(conn, ev, queue, customer_id)
        if prefs.avoid:
            await routing.set_avoid(conn, interaction_id, prefs.avoid)
        return _Written(interaction_id, created=True, interaction=created, routing=prefs, arrival=arrived)

    async def journey_event(self, ev: IdentityJourneyEventIn) -> tuple[uuid.UUID, JourneyEvent]:
        """Record an event for whoever owns ``ev.identity``: a customer of that identity is created when
        none is known, so the pages a visitor browsed before a first chat are in that chat's context (the
        chat's own address resolves to the same customer). The identity is normalized as a contact's own
        address is; a withheld or impossible one is refused (:class:`BadRequest`), nothing stored."""
        try:
            key = normalize_identity(ev.identity.kind, ev.identity.value, self.default_region)
        except NotAnIdentity as exc:
            why = "withheld" if isinstance(exc, WithheldIdentity) else "not an identity"
            raise BadRequest(
                f"the identity is {why}: a journey needs an address that names one person",
                errors=[{"loc": ["identity"], "msg": why}],
            ) from exc
        async with self.pool.acquire() as conn, conn.transaction():
            customer_id = await customers.resolve_customer(
                conn,
                [key],
                email=key[1] if key[0] == "email" else None,
                phone=key[1] if key[0] == "phone" else None,
            )
            event = await journey.add_event(
                conn, customer_id, ev.type, ev.data, at=ev.at, cap=self.journey_cap
            )
        return customer_id, event

    async def _preferences(
        self, conn: asyncpg.Connection, ev: InboundEvent, queue: QueueConfig, customer_id: uuid.UUID
    ) -> Preferences:
        """The event's preferred agents, then (when the queue's last_agent_seconds is on) the agent who
        last served this customer on any channel; avoided agents are never preferred. The window is the
        queue's last_agent_seconds, or DEFAULT_PREFERENCE_SECONDS for preferred agents named alone."""
        avoid = list(dict.fromkeys(ev.avoid_agents))
        preferred = [a for a in dict.fromkeys(ev.preferred_agents) if a not in avoid]
        if queue.last_agent_seconds > 0:
            last = await routing.last_agent(conn, self.engine.namespace, customer_id)
            if last is not None and last not in avoid and last not in preferred:
                preferred.append(last)
        seconds = queue.last_agent_seconds or DEFAULT_PREFERENCE_SECONDS
        return Preferences(preferred, int(seconds * 1000) if preferred else 0, avoid)

    async def enqueue_row(
        self,
        it: Interaction,
        exclude: str | None = None,
        prefs: Preferences | None = None,
        directed_by: str | None = None,
        warm_of: str | None = None,
    ) -> EnqueueResult:
        """Queue (idempotently) a stored interaction in the live index, waiting out a rebuild; where it is
        now (waiting, or offered at once)."""
        deadline = time.monotonic() + ENQUEUE_RETRY_SECONDS
        created_ms = int(it.created_at.timestamp() * 1000)
        while True:
            try:
                return await self.engine.enqueue(
                    str(it.id),
                    it.queue,
                    it.channel,
                    it.priority,
                    it.venq_ms,
                    created_ms,
                    exclude,
                    preferred=prefs.preferred if prefs else None,
                    preferred_ms=prefs.window_ms if prefs else 0,
                    avoid=prefs.avoid if prefs else None,
                    directed_by=directed_by,
                    warm_of=warm_of,
                )
            except NotReady:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def result_for(
        self, it: Interaction, *, created: bool, live: EnqueueResult | None = None
    ) -> IngestResult:
        """The ingest's answer; ``live``: what the enqueue just said, so an interaction offered at once
        (position 0, no wait) is not looked up again in the live index."""
        position: int | None
        ewt: WaitEstimate | None
        if live is not None and live.status == "offered" and live.offer_id:
            position, ewt = 0, ZERO_WAIT  # as live_position answers for an offered one
        else:
            position, ewt = await self.live_position(it)
        return IngestResult(
            id=str(it.id),
            customer_id=str(it.customer_id),
            conversation_id=str(it.conversation_id),
            status=InteractionStatus(it.status),
            queue=it.queue,
            position=position,
            estimated_wait_seconds=ewt.seconds if ewt else None,
            estimated_wait_range=list(ewt.range) if ewt else None,
            created=created,
            opens_at=self._opens_at(it),
        )

    def _opens_at(self, it: Interaction) -> datetime | None:
        """When the interaction's queue opens, if it is closed now (an arrival it rejected, or one it
        holds until it opens)."""
        queue = self.directory.queues.get(it.queue)
        if queue is None or it.status not in (InteractionStatus.closed, InteractionStatus.queued):
            return None
        return opens_at(queue)

    async def live_position(self, it: Interaction) -> tuple[int | None, WaitEstimate | None]:
        """The place in the queue and the wait estimate (None: nobody who could serve it is staffed);
        a queue closed now adds the time to its opening."""
        if it.status != InteractionStatus.queued:
            return None, None
        position = await self.engine.position(it.queue, str(it.id))
        opens = self._opens_at(it)
        if position is None:
            held = await self.engine.held_place(it.queue, str(it.id))
            if held is None:  # offered right now
                return 0, ZERO_WAIT
            # a callback held back keeps its place and waits at least until it is released
            position, until_ms = held
            released = datetime.fromtimestamp(until_ms / 1000, UTC)
            opens = released if opens is None else max(opens, released)
        score = rank_score(it.priority, it.venq_ms)
        est = await self.stats.estimate_wait(
            it.queue, it.channel, position, score=score, venq_ms=it.venq_ms, opens_at=opens
        )
        return position, est

    async def _announce_message(self, it: Interaction, message: Message) -> None:
        live = await self.engine.interaction_live(str(it.id))
        await publish(
            self.engine,
            "message",
            {
                "interaction_id": str(it.id),
                "agent_id": live.get("agent") if live.get("st") != "offered" else None,
                "message": jsonable(message),
            },
        )

    async def add_message(
        self, interaction_id: str, msg: MessageIn, *, held_by: str | None = None
    ) -> tuple[Message, bool]:
        """A customer message from an adapter (or an agent's reply posted over HTTP). Returns the message
        and whether it was new. Messages to an interaction that was transferred go to the live one of its
        conversation, so a customer's next chat line follows the transfer.

        ``held_by`` writes on an agent's behalf: the message goes into that interaction only while the
        agent holds it (checked in the same statement as the insert), never on to where a transfer took
        the conversation; otherwise :class:`Forbidden` and nothing is stored."""
        iid = parse_uuid(interaction_id)
        it = await interactions.get(self.pool, self.engine.namespace, iid) if iid else None
        if it is None:
            raise NotFound(f"interaction {interaction_id} not found")
        if held_by is not None:
            return await self._add_agent_message(it, held_by, msg)
        if it.status == InteractionStatus.transferred:
            live = await interactions.live_in_conversation(
                self.pool, self.engine.namespace, it.conversation_id
            )
            if live is not None:
                it = await interactions.get(self.pool, self.engine.namespace, live)
                assert it is not None
        if msg.direction == "outbound":
            from_agent = msg.agent_id
            if not from_agent:
                raise BadRequest(
                    "an outbound message needs agent_id", errors=[{"loc": ["agent_id"], "msg": "required"}]
                )
        message = await messages.insert(
            self.pool,
            interaction_id=it.id,
            conversation_id=it.conversation_id,
            channel=it.channel,
            direction=msg.direction,
            body=msg.body,
            agent_id=msg.agent_id,
            external_id=msg.external_id,
            status="received" if msg.direction == "inbound" else "pending",
            attachments=[a.model_dump(mode="json", exclude_none=True) for a in msg.attachments],
        )
        if message is None:  # a retry: the provider id is stored already
            assert msg.external_id is not None
            existing = await messages.get_by_external(self.pool, it.channel, msg.external_id)
            assert existing is not None
            return existing, False
        await self._announce_message(it, message)
        if msg.direction == "outbound" and self.outbound is not None:
            await self.outbound.submit(str(message.id))
        return message, True

    async def _add_agent_message(
        self, it: Interaction, agent_id: str, msg: MessageIn
    ) -> tuple[Message, bool]:
        message = await messages.insert_held(
            self.pool,
            namespace=self.engine.namespace,
            interaction_id=it.id,
            agent_id=agent_id,
            body=msg.body,
            external_id=msg.external_id,
            attachments=[a.model_dump(mode="json", exclude_none=True) for a in msg.attachments],
        )
        if message is None:
            existing = (
                await messages.get_by_external(self.pool, it.channel, msg.external_id)
                if msg.external_id
                else None
            )
            if existing is not None and existing.interaction_id == it.id:
                return existing, False  # a retry of a reply already stored
            raise Forbidden(f"interaction {it.id} is not held by agent {agent_id}")
        await self._announce_message(it, message)
        if self.outbound is not None:
            await self.outbound.submit(str(message.id))
        return message, True

    async def customer_end(self, interaction_id: str, reason: str) -> Interaction:
        """The customer hung up or left: abandoned if still waiting; otherwise the agent is told and
        completes it as usual."""
        iid = parse_uuid(interaction_id)
        ended = (
            await interactions.customer_ended(self.pool, self.engine.namespace, iid, reason) if iid else None
        )
        if ended is None:
            existing = await interactions.get(self.pool, self.engine.namespace, iid) if iid else None
            if existing is None:
                raise NotFound(f"interaction {interaction_id} not found")
            if await callbacks.get(self.pool, self.engine.namespace, existing.id) is not None:
                # the customer hung up to be called back: it keeps its place (docs/callbacks.md)
                if existing.status == InteractionStatus.queued:
                    await interactions.add_history(self.pool, existing.id, "customer_left_for_callback")
                return existing
            if existing.status in (
                InteractionStatus.queued,
                InteractionStatus.assigned,
                InteractionStatus.wrapup,
            ):
                raise Conflict("interaction changed concurrently; retry")
            return existing  # already over: ending again changes nothing
        assert iid is not None
        await interactions.add_history(self.pool, iid, ended.status, reason=reason)
        try:
            await self.engine.customer_end(str(iid))
        except NotReady:
            pass  # the rebuild reads PostgreSQL, where it is already ended
        full = await interactions.get(self.pool, self.engine.namespace, iid)
        assert full is not None
        return full


INGEST = web.AppKey("ingest", Ingest)
