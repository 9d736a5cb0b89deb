"""What an agent does with work: accept or reject offers, write to the customer, take notes, complete,
transfer or escalate, end wrap-up. Live-state decisions are Lua scripts; the record follows in
PostgreSQL, and the reconciler repairs the record if a process dies between the two."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog
from aiohttp import web

from context_store import customers, interactions, journey, notes, routing
from context_store.db import parse_uuid
from context_store.records import Interaction, Message, Note
from router.backends import UNAVAILABLE
from router.contracts import Channel, InteractionStatus, MessageIn, strip_unstorable, unstorable_path
from router.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    NotReady,
    OfferGone,
    OmnirouteError,
    Unavailable,
)
from router.metrics import Metrics
from router.routing import events
from router.routing.directory import Directory, eligible
from router.routing.engine import Engine
from router.routing.events import jsonable, publish
from router.routing.stats import Statistics
from router.service.accepted import HELD_KNOWN_MAX, AcceptedHere, HeldWork
from router.service.ingest import Ingest, Preferences
from router.service.surveys import Surveys

log = structlog.get_logger("router.service.work")

TRANSFER_HOLD_MS = 120_000  # a transfer to a busy (present) agent waits for them this long at most
LIVE_BEHIND: tuple[type[BaseException], ...] = (NotReady, *UNAVAILABLE)
"""A live step after the record is final could not run now: the timers and the repair catch up."""
ALREADY_ENDED_OR_BEHIND: tuple[type[BaseException], ...] = (NotFound, *LIVE_BEHIND)
UNDO_FAILED: tuple[type[BaseException], ...] = (OmnirouteError, *UNAVAILABLE)
"""A take-back script that was refused (the live index moved on) or did not reach Redis."""


class Work:
    """What an agent does with the work it is offered and holds."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        stats: Statistics,
        metrics: Metrics,
        ingest: Ingest,
        surveys: Surveys | None = None,
    ) -> None:
        self.surveys = surveys
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.stats = stats
        self.metrics = metrics
        self.ingest = ingest
        self.accepted_here = AcceptedHere(HELD_KNOWN_MAX)

    async def _held(self, agent_id: str, interaction_id: str) -> Interaction:
        """The interaction, if this agent holds it (assigned or in wrap-up)."""
        iid = parse_uuid(interaction_id)
        it = await interactions.get(self.pool, self.engine.namespace, iid) if iid else None
        if it is None:
            raise NotFound(f"interaction {interaction_id} not found")
        if it.agent_id != agent_id or it.status not in (
            InteractionStatus.assigned,
            InteractionStatus.wrapup,
        ):
            raise Forbidden(f"interaction {interaction_id} is not held by you")
        return it

    async def _completable(self, agent_id: str, interaction_id: str) -> HeldWork:
        """What ``complete`` needs of work it did not accept here, read from the record; the errors of
        work that is not this agent's, or already in wrap-up."""
        it = await self._held(agent_id, interaction_id)
        if it.status == InteractionStatus.wrapup:
            raise Conflict("already completed; in wrap-up")
        return HeldWork(it.id, it.queue, it.channel)

    async def accept(self, agent_id: str, offer_id: str) -> Taken:
        """Accept an offer. The live index decides first (the offer may be gone); the record follows, and
        a record that cannot be written takes the decision back (``unaccept.lua``: the interaction waits
        again at its place), so an error to the desktop means nothing changed. Returns the interaction as
        the accept wrote it (the ``assigned`` frame shows it without reading it again) and whether the
        live index holds it as a callback."""
        started = time.perf_counter()
        live = await self.engine.accept(agent_id, offer_id)
        interaction_id = live.interaction_id
        sender: _WarmSender | None = None
        try:
            # the usual accept is one statement; a warm transfer's (whose sender is closed with it) and
            # one whose interaction is gone are told apart in a transaction
            assigned = await interactions.assign_recorded(
                self.pool, self.engine.namespace, interaction_id, agent_id, offer_id=offer_id, warm=False
            )
            if assigned is None:
                async with self.pool.acquire() as conn, conn.transaction():
                    assigned = await interactions.assign_recorded(
                        conn, self.engine.namespace, interaction_id, agent_id, offer_id=offer_id
                    )
                    if assigned is not None:
                        # a warm transfer's sender is closed in the same transaction: once it commits,
                        # the accept stands whole, and nothing after it can make the desktop think it
                        # failed
                        sender = await self._close_warm_sender(conn, assigned)
        except BaseException as exc:
            # a record that did say "assigned" (the commit's answer lost) is put back by the repair
            await _take_back("accept", self.engine.unaccept(agent_id, interaction_id))
            if isinstance(exc, UNAVAILABLE):
                raise _unavailable(exc) from exc
            raise
        if assigned is None:
            # the customer left between the offer and the accept
            await self.engine.release(agent_id, interaction_id, "customer_left")
            raise OfferGone("the customer left before the offer was accepted")
        if sender is not None:
            await self._release_warm_sender(sender, interaction_id, agent_id)
        self.accepted_here.add(agent_id, HeldWork(assigned.id, assigned.queue, assigned.channel))
        self.metrics.inc("offers_accepted_total")
        self.metrics.observe("accept", time.perf_counter() - started)
        log.info("offer.accepted", agent_id=agent_id, interaction_id=interaction_id, offer_id=offer_id)
        return Taken(assigned, live.callback)

    async def _close_warm_sender(self, conn: asyncpg.Connection, moved: Interaction) -> _WarmSender | None:
        """The target of a warm transfer accepted (``moved``, as the accept left it): the sender's
        interaction is closed as transferred, in the accept's own transaction."""
        if moved.attributes.get("transfer_mode") != "warm" or moved.parent_id is None:
            return None
        sender = str(moved.attributes.get("transferred_from_agent"))
        original = await interactions.get(conn, self.engine.namespace, moved.parent_id)
        if original is None:
            return None
        await _close_transferred_record(
            conn,
            self.engine.namespace,
            original,
            sender,
            moved.queue,
            moved.channel,
            moved.id,
            self.ingest.journey_cap,
        )
        return _WarmSender(sender, str(original.id), moved.queue, moved.channel)

    async def _release_warm_sender(self, sender: _WarmSender, interaction_id: str, agent_id: str) -> None:
        """Release the sender at once, without wrap-up (their desktop is told through the event stream).
        The accept is already whole: a failure here leaves the sender's closed record to the repair, which
        releases held work whose record is final."""
        try:
            await self.engine.release(sender.agent_id, sender.interaction_id, "transferred")
            await events.publish(
                self.engine,
                "transferred",
                {
                    "interaction_id": sender.interaction_id,
                    "agent_id": sender.agent_id,
                    "queue": sender.queue,
                    "channel": sender.channel,
                    "to_interaction": interaction_id,
                    "to_agent": agent_id,
                    "mode": "warm",
                },
            )
        except NotFound:
            pass  # the sender finished it meanwhile: nothing is held any more
        except LIVE_BEHIND as exc:
            log.warning(
                "transfer.sender_release_deferred",
                interaction_id=sender.interaction_id,
                error=type(exc).__name__,
            )

    async def reject(self, agent_id: str, offer_id: str, reason: str | None) -> str:
        """Decline an offer. As for accept, the live index decides first and the record follows; here the
        decision is taken back exactly when the record cannot be written (``unreject.lua``: the same
        offer, deadline and capacity, the exclusion lifted), which is why ``reject.lua`` matches nothing
        itself: the interaction is offered on (``rematch.lua``) only once the reject is recorded."""
        offer = await self.engine.offer(offer_id)
        rejected = await self.engine.reject(agent_id, offer_id)
        interaction_id = rejected.interaction_id
        try:
            # the cooldown is durable: a rebuilt live index keeps it until it ends (and no longer)
            await routing.exclude(self.pool, interaction_id, agent_id, _ts(rejected.excluded_until_ms / 1000))
            await interactions.add_history(
                self.pool, interaction_id, "offer_rejected", agent_id, offer_id=offer_id, reason=reason
            )
        except BaseException as exc:
            undo = self.engine.unreject(
                agent_id, offer_id, interaction_id, int(offer.get("deadline", 0)), offer.get("why", "")
            )
            await _take_back("reject", undo)
            if isinstance(exc, UNAVAILABLE):
                raise _unavailable(exc) from exc
            raise
        try:
            await self.engine.rematch(interaction_id, agent_id)
        except LIVE_BEHIND as exc:
            # the reject stands and is recorded; the interaction waits at its place and is matched by
            # the next arrival, agent change or timer (a rebuild matches everything)
            log.warning("offer.rematch_deferred", interaction_id=interaction_id, error=type(exc).__name__)
        self.metrics.inc("offers_rejected_total")
        log.info("offer.rejected", agent_id=agent_id, interaction_id=interaction_id, offer_id=offer_id)
        return interaction_id

    async def complete(
        self, agent_id: str, interaction_id: str, disposition: str | None, summary: str | None
    ) -> float | None:
        """Finish the work; returns the wrap-up end (unix seconds) or None when there is no wrap-up.

        Everything is checked before the first write: a disposition PostgreSQL cannot store is refused, so
        is one outside the queue's ``dispositions`` when it lists some (a missing one too),
        and the summary (the agent's own words) is kept without such characters, so bad input writes
        nothing. Then the live index decides (``complete.lua``: into wrap-up) and the record follows in one
        transaction; a record that cannot be written takes the wrap-up back (``uncomplete.lua``), so an
        error to the desktop means nothing changed. A queue without wrap-up goes through a wrap-up too,
        ended by ``release.lua`` once the record is written: ending work frees capacity and matches the
        agent again, which no script could take back exactly. Should that release fail, the record is
        already final and the held wrap-up ends at its timer (``RELEASE_FALLBACK_MS``) or by the repair."""
        if disposition is not None and unstorable_path(disposition) is not None:
            raise BadRequest(
                "the disposition contains a NUL character or a lone surrogate",
                errors=[{"loc": ["disposition"], "msg": "cannot be stored", "type": "value_error"}],
            )
        summary = strip_unstorable(summary) if summary is not None else None
        # Work accepted here is known without reading its record: whether it is still held is the live
        # index's to say (complete.lua), and the record's write checks it again.
        it = self.accepted_here.get(agent_id, interaction_id)
        if it is None:
            it = await self._completable(agent_id, interaction_id)
        queue = self.directory.queues.get(it.queue)
        if queue is not None and queue.dispositions and disposition not in queue.dispositions:
            raise BadRequest(
                f"queue {it.queue!r} takes one of its disposition codes: {', '.join(queue.dispositions)}",
                errors=[
                    {
                        "loc": ["disposition"],
                        "msg": "not one of the queue's dispositions",
                        "type": "value_error",
                        "allowed": list(queue.dispositions),
                    }
                ],
            )
        wrap_ms = int((queue.wrapup_seconds if queue else 0) * 1000)
        try:
            until_ms = await self.engine.complete(agent_id, interaction_id, wrap_ms or RELEASE_FALLBACK_MS)
        except OmnirouteError:
            if self.accepted_here.forget(interaction_id):
                # refused work that was known here: the record says why (not found, not yours, already
                # completed), as it does for work read before the script
                await self._completable(agent_id, interaction_id)
            raise
        self.accepted_here.forget(interaction_id)
        try:
            # into wrap-up, or completed at once, with its history row and the journey event: one statement
            await interactions.finish(
                self.pool,
                self.engine.namespace,
                it.id,
                agent_id,
                disposition,
                summary,
                _ts(until_ms / 1000) if wrap_ms else None,
                journey_data={"channel": it.channel, "agent_id": agent_id, "disposition": disposition},
                journey_cap=self.ingest.journey_cap,
            )
        except BaseException as exc:
            await _take_back("complete", self.engine.uncomplete(agent_id, interaction_id, until_ms))
            if isinstance(exc, UNAVAILABLE):
                raise _unavailable(exc) from exc
            raise
        if not wrap_ms:
            await self._end_live(agent_id, interaction_id, "completed")
        self.metrics.inc("interactions_completed_total", channel=it.channel)
        if not wrap_ms and self.surveys is not None and queue is not None and queue.survey is not None:
            # only a queue that asks one sends a survey (the survey service reads the interaction again)
            await self.surveys.after_completion(it.id)
        return until_ms / 1000 if wrap_ms else None

    async def end_wrapup(self, agent_id: str, interaction_id: str) -> None:
        """End wrap-up early. The record is written first (one transaction; a failure there changes
        nothing), then the live index frees the capacity. Freeing capacity matches the agent again, which
        cannot be taken back, so it comes last; if it fails the record is already final and the wrap-up
        ends at its timer or by the repair: the desktop is answered as done."""
        it = await self._held(agent_id, interaction_id)
        if it.status != InteractionStatus.wrapup:
            raise Conflict("not in wrap-up: complete it first")
        await self.close_after_wrapup(interaction_id, agent_id)
        await self._end_live(agent_id, interaction_id, "wrapup_ended")

    async def _end_live(self, agent_id: str, interaction_id: str, reason: str) -> None:
        """End held work in the live index after its record is final. A failure leaves the wrap-up to end
        at its timer, or the repair to release it (``Reconciler.repair``); the work already ended there
        (a timer, the repair) is fine too."""
        try:
            await self.engine.release(agent_id, interaction_id, reason)
        except ALREADY_ENDED_OR_BEHIND as exc:
            log.warning("work.release_deferred", interaction_id=interaction_id, error=type(exc).__name__)

    async def close_after_wrapup(self, interaction_id: str, agent_id: str | None) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            closed = await interactions.close(conn, self.engine.namespace, interaction_id, "completed")
            if closed is not None:
                await interactions.add_history(conn, interaction_id, "completed", agent_id)
        if closed is not None and self.surveys is not None:
            await self.surveys.after_completion(interaction_id)

    async def add_note(self, agent_id: str, interaction_id: str, body: str) -> Note:
        it = await self._held(agent_id, interaction_id)
        note = await notes.insert(self.pool, it.customer_id, it.id, agent_id, body)
        # for supervisors watching it; `by`, not `agent_id`: the agent's statistics did not change
        await publish(
            self.engine, "note", {"interaction_id": str(it.id), "by": agent_id, "note": jsonable(note)}
        )
        return note

    async def send_message(
        self, agent_id: str, interaction_id: str, body: str, subject: str | None = None
    ) -> Message:
        it = await self._held(agent_id, interaction_id)
        if it.channel == Channel.voice:
            raise BadRequest("a voice interaction has no text channel; escalate to one to write")
        if subject:
            await interactions.set_subject(self.pool, self.engine.namespace, it.id, subject)
        message, _ = await self.ingest.add_message(
            str(it.id), MessageIn(direction="outbound", body=body, agent_id=agent_id), held_by=agent_id
        )
        return message

    async def transfer(
        self,
        agent_id: str,
        interaction_id: str,
        queue_id: str | None,
        channel: Channel | None,
        note: str | None,
        *,
        to_agent: str | None = None,
        mode: str = "cold",
    ) -> str:
        """Move the work to another queue (and optionally another channel) in the same conversation. The new
        interaction keeps the original virtual enqueue time, so it does not lose its place; the context
        travels because it belongs to the customer and the conversation.

        The record is written first, in one transaction: a failure there changes nothing anywhere. The
        live index follows after the commit (see below)."""
        it = await self._held(agent_id, interaction_id)
        if it.status != InteractionStatus.assigned:
            raise Conflict("only assigned work can be transferred")
        warm = mode == "warm"
        if warm and to_agent is None:
            raise BadRequest(
                "a warm transfer names the agent who is to take it",
                errors=[{"loc": ["agent_id"], "msg": "required for a warm transfer"}],
            )
        queue_id = queue_id or it.queue
        target = self.directory.queues.get(queue_id)
        if target is None:
            raise BadRequest(
                f"unknown queue {queue_id!r}", errors=[{"loc": ["queue"], "msg": "unknown queue"}]
            )
        new_channel = channel.value if channel else it.channel
        if new_channel not in [c.value for c in target.channels]:
            raise BadRequest(
                f"queue {queue_id!r} does not take channel {new_channel}",
                errors=[{"loc": ["channel"], "msg": "not taken by the target queue"}],
            )
        if to_agent is not None:
            person = self.directory.agents.get(to_agent)
            if person is None or to_agent == agent_id:
                raise BadRequest(
                    f"agent {to_agent!r} cannot take this transfer",
                    errors=[{"loc": ["agent_id"], "msg": "unknown agent, or yourself"}],
                )
            if not eligible(person, target):
                raise BadRequest(
                    f"agent {to_agent!r} does not take the work of queue {queue_id!r}",
                    errors=[{"loc": ["agent_id"], "msg": "not in the queue's pool"}],
                )
        from_kind, from_value = it.from_kind, it.from_value
        if new_channel != it.channel:
            from_kind, from_value = await _address_on(self.pool, it, new_channel)
        new_id = uuid.uuid4()
        attributes = dict(it.attributes)
        attributes.update({"transferred_from_agent": agent_id, "transferred_from_queue": it.queue})
        if to_agent is not None:
            attributes.update({"transfer_mode": mode, "transferred_to_agent": to_agent})
            if warm and note:
                attributes["transfer_note"] = note
        async with self.pool.acquire() as conn, conn.transaction():
            if note:
                await notes.insert(conn, it.customer_id, it.id, agent_id, note)
            moved = await interactions.insert(
                conn,
                namespace=self.engine.namespace,
                interaction_id=new_id,
                customer_id=it.customer_id,
                conversation_id=it.conversation_id,
                parent_id=it.id,
                channel=new_channel,
                external_id=f"transfer:{new_id}",
                from_kind=from_kind,
                from_value=from_value,
                queue_id=queue_id,
                priority=it.priority,
                attributes=attributes,
                subject=it.subject,
                venq_ms=it.venq_ms,
            )
            await interactions.add_history(
                conn, new_id, "queued", queue=queue_id, transferred_from=str(it.id)
            )
            if warm:
                # the sender keeps the work until the target accepts (accept() completes the handover)
                await interactions.add_history(
                    conn,
                    it.id,
                    "warm_transfer_offered",
                    agent_id,
                    to_agent=to_agent,
                    to_interaction=str(new_id),
                )
            else:
                await _close_transferred_record(
                    conn,
                    self.engine.namespace,
                    it,
                    agent_id,
                    queue_id,
                    new_channel,
                    new_id,
                    self.ingest.journey_cap,
                )
        # The record is final; the live index follows. Releasing the old work matches the agent again and
        # cannot be taken back, so it comes after the commit; should Redis fail now, the transfer stands
        # (it is recorded) and the repair finishes it: it releases held work whose record is closed and
        # queues open interactions missing from the live index. A warm transfer is announced when the
        # target accepts.
        if not warm:
            await self._end_live(agent_id, interaction_id, "transferred")
            await events.publish(
                self.engine,
                "transferred",
                {
                    "interaction_id": interaction_id,
                    "agent_id": agent_id,
                    "queue": queue_id,
                    "channel": new_channel,
                    "to_interaction": str(new_id),
                    "to_agent": to_agent,
                    "mode": mode,
                },
            )
        prefs = Preferences([to_agent], TRANSFER_HOLD_MS, []) if to_agent else None
        try:
            # a transfer hands the work to someone else; an escalation onto another channel may well stay
            # with the agent who made it
            await self.ingest.enqueue_row(
                moved,
                exclude=agent_id if new_channel == it.channel else None,
                prefs=prefs,
                directed_by=agent_id if to_agent else None,
                warm_of=interaction_id if warm else None,
            )
        except LIVE_BEHIND as exc:
            log.warning("transfer.enqueue_deferred", interaction_id=str(new_id), error=type(exc).__name__)
        self.metrics.inc("interactions_transferred_total")
        log.info(
            "interaction.transferred",
            agent_id=agent_id,
            interaction_id=interaction_id,
            to_queue=queue_id,
            new_interaction_id=str(new_id),
        )
        return str(new_id)


async def _close_transferred_record(
    conn: asyncpg.Connection,
    namespace: str,
    it: Interaction,
    agent_id: str,
    queue_id: str,
    channel: str,
    new_id: uuid.UUID,
    journey_cap: int,
) -> None:
    closed = await interactions.close(conn, namespace, it.id, "transferred", f"transferred to {queue_id}")
    if closed is None:
        raise Conflict("the interaction ended meanwhile")
    await interactions.add_history(
        conn, it.id, "transferred", agent_id, to_queue=queue_id, to_interaction=str(new_id)
    )
    await journey.add_event(
        conn,
        it.customer_id,
        "interaction.transferred",
        {"from_queue": it.queue, "to_queue": queue_id, "channel": channel, "agent_id": agent_id},
        interaction_id=it.id,
        cap=journey_cap,
    )


async def _address_on(pool: asyncpg.Pool, it: Interaction, channel: str) -> tuple[str, str]:
    """The customer's address on another channel, for an escalation: the reply must go to their e-mail
    address, not to the phone number the chat came from. Refused when the customer has none."""
    if channel == "social" and it.from_kind in ("whatsapp", "messenger") and it.from_value is not None:
        return it.from_kind, it.from_value
    identities = {i.kind: i.value for i in await customers.identities(pool, it.customer_id)}
    for kind in Channel[channel].spec.reply_identities:
        if kind in identities:
            value = identities[kind]
            if channel == "social" and kind == "phone":
                return "whatsapp", value.lstrip("+")
            return kind, value
    # An address the customer gave on first contact but nobody verified is no identity (it links no
    # one), yet it is where they asked to be answered: the agent escalates to it on purpose.
    profile = await customers.get(pool, it.customer_id)
    given: dict[str, str | None] = {"email": profile.email, "phone": profile.phone} if profile else {}
    for kind in Channel[channel].spec.reply_identities:
        address = given.get(kind)
        if address and channel != "social":
            return kind, address
    raise BadRequest(
        f"the customer has no {channel} address to escalate to",
        errors=[{"loc": ["channel"], "msg": f"no {channel} identity for this customer"}],
    )


RELEASE_FALLBACK_MS = 30_000
"""A complete without wrap-up holds the work in a wrap-up this long until ``release.lua`` ends it right
after the record is written: only if that release fails does the timer end it."""


@dataclass(frozen=True, slots=True)
class Taken:
    """An accepted offer: the interaction as the accept wrote it, and whether it is a callback."""

    interaction: Interaction
    callback: bool


@dataclass(frozen=True, slots=True)
class _WarmSender:
    """The sender of a warm transfer whose record the accept closed."""

    agent_id: str
    interaction_id: str
    queue: str
    channel: str


async def _take_back(step: str, undo: Awaitable[None]) -> None:
    """Run the script that takes back a live step whose record could not be written. When that fails too
    (Redis gone as well, or the live index moved on), the step stands in the live index: logged, and the
    timers and the repair bring the two stores together."""
    try:
        await undo
    except UNDO_FAILED as exc:
        log.error("work.not_taken_back", step=step, error=type(exc).__name__, detail=str(exc))


def _unavailable(exc: BaseException) -> Unavailable:
    """What the caller hears when the record could not be written (PostgreSQL unreachable) and the live
    step was taken back: 'unavailable', retry. Any other error is raised as it is."""
    return Unavailable(f"the record could not be written ({type(exc).__name__}); retry")


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


WORK = web.AppKey("work", Work)
