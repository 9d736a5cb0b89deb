"""Campaigns: one proactive message to a list of customers, each on the channel they prefer (else the
first fallback they can receive and consented to), outside their quiet hours, at a rate that holds
across every router process.

Every process may run the worker (``[outbound] campaign_worker``). A recipient is claimed with
``FOR UPDATE SKIP LOCKED`` inside the transaction that records what became of it: the message and the
interaction that holds it (status ``sending``), or why it gets none (``skipped_no_consent``,
``opted_out``, ``deferred_quiet_hours`` until the quiet hours end). The row lock is held while the send
waits for the campaign's rate (``campaign_rate.lua``), so two processes never claim one customer, and a
process killed before the commit leaves the row as it was (nothing was stored, nothing was sent). After
the commit the message is handed to the channel's adapter once; ``sending`` becomes ``sent`` (or
``failed``). A row a dead process left in ``sending`` is closed as ``failed`` and never sent again: a
campaign message is delivered at most once (``docs/campaigns.md``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from aiohttp import web

from context_store import campaigns as store
from context_store import consent as ledger
from context_store import customers, interactions, journey, messages
from context_store.records import CampaignRecord, RecipientRecord
from router.config import OutboundSection
from router.contracts import InteractionStatus
from router.contracts.campaigns import (
    BY_PREFERRED,
    OUTCOMES,
    SEND_CHANNELS,
    CampaignIn,
    CampaignMessage,
    CampaignOut,
    QuietHours,
    RecipientOut,
    RecipientsOut,
    SendChannel,
)
from router.contracts.consent import may_contact
from router.errors import BadRequest, Conflict, NotFound
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.events import publish
from router.service.outbound import Outbound
from router.service.preferences import timezone_of

log = structlog.get_logger("router.service.campaigns")

END_REASON = "campaign"
WHATSAPP_WINDOW = timedelta(hours=24)
BATCH = 50  # recipients one campaign gets before the worker looks at the others


@dataclass(frozen=True)
class Decision:
    status: str  # sending | skipped_no_consent | opted_out | deferred_quiet_hours | failed
    channel: str | None = None
    address: str | None = None
    detail: str | None = None
    next_at: datetime | None = None


def _clock(text: str) -> clock:
    hours, minutes, *seconds = (int(p) for p in text.split(":"))
    return clock(hours, minutes, seconds[0] if seconds else 0)


def quiet_until(quiet: QuietHours | None, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When the quiet hours around ``now`` end (UTC), or None when ``now`` is not in them. The hours are
    read on the customer's local clock and may span midnight (21:00 to 08:00)."""
    if quiet is None:
        return None
    start, end = _clock(quiet.start), _clock(quiet.end)
    if start == end:
        return None
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def campaign_out(c: CampaignRecord, counts: dict[str, int]) -> CampaignOut:
    spec = c.spec
    return CampaignOut(
        id=c.id,
        purpose=c.purpose,
        status=c.status,
        message=CampaignMessage.model_validate(spec["message"]),
        channel=spec["channel"],
        fallback=list(spec["fallback"]),
        quiet_hours=QuietHours.model_validate(spec["quiet_hours"]) if spec.get("quiet_hours") else None,
        rate_per_second=c.rate_per_second,
        start_at=c.start_at,
        reply_queue=spec.get("reply_queue"),
        audience_size=sum(counts.values()),
        counts={o: counts.get(o, 0) for o in OUTCOMES},
        created_at=c.created_at,
        started_at=c.started_at,
        finished_at=c.finished_at,
    )


def recipient_out(r: RecipientRecord) -> RecipientOut:
    return RecipientOut(
        customer_id=str(r.customer_id),
        status=r.status,
        channel=r.channel,
        detail=r.detail,
        deferred_until=r.deferred_until,
        sent_at=r.sent_at,
        replied_at=r.replied_at,
        interaction_id=str(r.interaction_id) if r.interaction_id else None,
        message_id=str(r.message_id) if r.message_id else None,
        reply_interaction_id=str(r.reply_interaction_id) if r.reply_interaction_id else None,
    )


class Campaigns:
    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        outbound: Outbound,
        node_id: str,
        settings: OutboundSection,
        server_timezone: str,
        directory: Directory,
        journey_cap: int,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.outbound = outbound
        self.node_id = node_id
        self.settings = settings
        self.server_zone = ZoneInfo(server_timezone)
        self.directory = directory  # reply_queue must be one of its queues
        self.journey_cap = journey_cap
        self._wake = asyncio.Event()

    @property
    def namespace(self) -> str:
        return self.engine.namespace

    # ------------------------------------------------------------------ the API

    async def create(self, cin: CampaignIn, actor: str) -> CampaignOut:
        if cin.reply_queue is not None and cin.reply_queue not in self.directory.queues:
            raise BadRequest(
                f"unknown queue {cin.reply_queue!r}",
                errors=[{"loc": ["reply_queue"], "msg": "unknown queue"}],
            )
        ids: list[uuid.UUID] = []
        for n, raw in enumerate(cin.audience.customer_ids):
            try:
                ids.append(uuid.UUID(raw))
            except ValueError as exc:
                raise BadRequest(
                    "a customer id is not a UUID",
                    errors=[{"loc": ["audience", "customer_ids", n], "msg": "not a UUID"}],
                ) from exc
        spec = cin.model_dump(
            mode="json", include={"message", "channel", "fallback", "quiet_hours", "reply_queue"}
        )
        async with self.pool.acquire() as conn, conn.transaction():
            made = await store.create(
                conn, cin.id, self.namespace, cin.purpose, spec, cin.rate_per_second, cin.start_at, actor, ids
            )
        if made is None:
            raise Conflict(f"campaign {cin.id!r} exists already")
        log.info("campaign.created", campaign_id=cin.id, audience=len(ids))
        return await self.get(cin.id)

    async def _record(self, campaign_id: str) -> CampaignRecord:
        found = await store.get(self.pool, campaign_id, self.namespace)
        if found is None:
            raise NotFound(f"campaign {campaign_id} not found")
        return found

    async def get(self, campaign_id: str) -> CampaignOut:
        found = await self._record(campaign_id)
        return campaign_out(found, await store.counts(self.pool, campaign_id))

    async def transition(self, campaign_id: str, action: str) -> CampaignOut:
        """start (a draft or paused campaign), pause (one not over: a paused draft waits for its start),
        cancel (one not over)."""
        target, allowed = {
            "start": ("running", ["draft", "paused"]),
            "pause": ("paused", ["draft", "running"]),
            "cancel": ("cancelled", ["draft", "running", "paused"]),
        }[action]
        current = await self._record(campaign_id)
        if current.status == target:
            return await self.get(campaign_id)  # a repeat changes nothing
        moved = await store.set_status(self.pool, campaign_id, self.namespace, target, allowed)
        if moved is None:
            raise Conflict(f"campaign {campaign_id} is {current.status}: it cannot {action}")
        await publish(self.engine, f"campaign_{target}", {"campaign_id": campaign_id, "status": target})
        log.info(f"campaign.{target}", campaign_id=campaign_id)
        self._wake.set()
        return await self.get(campaign_id)

    async def recipients(
        self, campaign_id: str, status: str | None, limit: int, offset: int
    ) -> RecipientsOut:
        await self._record(campaign_id)
        rows = await store.recipients(self.pool, campaign_id, status, limit, offset)
        return RecipientsOut(campaign_id=campaign_id, recipients=[recipient_out(r) for r in rows])

    # ------------------------------------------------------------------ replies and opt-outs

    async def reply(
        self, conn: asyncpg.Connection, customer_id: uuid.UUID
    ) -> tuple[str, str | None, str] | None:
        """When a customer's new contact answers a campaign message (within ``campaign_reply_hours``): the
        campaign, its reply queue and the message; the recipient is marked by :meth:`replied`."""
        target = await store.reply_target(
            conn, customer_id, self.namespace, self.settings.campaign_reply_hours
        )
        if target is None:
            return None
        return target.campaign_id, target.reply_queue, target.body

    async def replied(
        self, conn: asyncpg.Connection, campaign_id: str, customer_id: uuid.UUID, interaction_id: uuid.UUID
    ) -> None:
        await store.replied(conn, campaign_id, customer_id, interaction_id)

    async def opted_out(self, customer_id: uuid.UUID, purposes: list[str]) -> None:
        """A customer opted out of these purposes: the campaign messages for them they were sent count as
        opted out."""
        for campaign_id in await store.opted_out(self.pool, customer_id, self.namespace, purposes):
            await self._tell(campaign_id, customer_id, "opted_out", None, "opted out after the message")

    # ------------------------------------------------------------------ the worker

    async def run(self) -> None:
        """The worker: every due campaign in turn, then a nap when nothing was due. A failed round
        (PostgreSQL or Redis restarting) is logged and the next one runs; what it left is in the record."""
        task = asyncio.current_task()
        while True:
            worked = 0
            try:
                for campaign_id in await store.due(self.pool, self.namespace):
                    worked += await self._work(campaign_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive a backend's restart
                log.exception("campaign.round_failed")
                await asyncio.sleep(1)
            if task is not None and task.cancelling():
                raise asyncio.CancelledError  # a cancellation a round swallowed still stops the worker
            if worked == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.settings.campaign_poll_seconds)
                except TimeoutError:
                    pass

    async def _work(self, campaign_id: str) -> int:
        for customer_id, status in await store.close_interrupted(
            self.pool, campaign_id, self.settings.campaign_lease_seconds
        ):
            log.warning("campaign.interrupted", campaign_id=campaign_id, customer_id=str(customer_id))
            await self._tell(campaign_id, customer_id, status, None, "interrupted")
        done = 0
        for _ in range(BATCH):
            campaign = await store.get(self.pool, campaign_id, self.namespace)
            if campaign is None or campaign.status != "running":
                return done
            if not await self._one(campaign):
                break
            done += 1
        if done == 0 and await store.left(self.pool, campaign_id) == 0:
            finished = await store.set_status(
                self.pool, campaign_id, self.namespace, "completed", ["running"]
            )
            if finished is not None:
                log.info("campaign.completed", campaign_id=campaign_id)
                counts = await store.counts(self.pool, campaign_id)
                await publish(
                    self.engine,
                    "campaign_completed",
                    {"campaign_id": campaign_id, "status": "completed", "counts": counts},
                )
        return done

    async def _one(self, campaign: CampaignRecord) -> bool:
        """Claim one due recipient and do what it needs; False when none is due."""
        message_id: uuid.UUID | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            claimed = await store.claim(conn, campaign.id)
            if claimed is None:
                return False
            customer_id, _ = claimed
            decision = await self._decide(conn, campaign, customer_id)
            if decision.status != "sending":
                await store.decide(
                    conn,
                    campaign.id,
                    customer_id,
                    decision.status,
                    decision.channel,
                    decision.detail,
                    decision.next_at,
                )
            else:
                await self._take_rate(campaign)
                message_id = await self._store_send(conn, campaign, customer_id, decision)
        if message_id is None:
            await self._tell(campaign.id, customer_id, decision.status, decision.channel, decision.detail)
            return True
        await self.outbound.deliver(str(message_id))
        sent = await messages.get(self.pool, str(message_id))
        ok = sent is not None and sent.status in ("queued", "sent", "delivered", "read")
        detail = None if ok else (f"the adapter did not take it ({sent.status})" if sent else "message gone")
        await store.handed(self.pool, message_id, "sent" if ok else "failed", detail)
        await self._tell(campaign.id, customer_id, "sent" if ok else "failed", decision.channel, detail)
        return True

    async def _take_rate(self, campaign: CampaignRecord) -> None:
        while (wait := await self.engine.campaign_rate(campaign.id, campaign.rate_per_second)) > 0:
            await asyncio.sleep(wait)

    async def _tell(
        self, campaign_id: str, customer_id: uuid.UUID, status: str, channel: str | None, detail: str | None
    ) -> None:
        await publish(
            self.engine,
            "campaign_recipient",
            {
                "campaign_id": campaign_id,
                "customer_id": str(customer_id),
                "status": status,
                "channel": channel,
                "detail": detail,
            },
        )

    def _reachable(self, way: SendChannel) -> bool:
        """An adapter that sends this way is configured."""
        for route in self.outbound.routes:
            if route.channel == way.channel.value and (way.adapter is None or route.adapter == way.adapter):
                return True
        return False

    async def _decide(
        self, conn: asyncpg.Connection, campaign: CampaignRecord, customer_id: uuid.UUID
    ) -> Decision:
        customer = await customers.get(conn, customer_id)
        if customer is None:
            return Decision("failed", detail="the customer is gone")
        prefs = await store.preferences(conn, customer_id)
        spec = campaign.spec
        if spec["channel"] == "preferred":
            first = BY_PREFERRED.get(prefs.preferred_channel or "", ()) if prefs else ()
        else:
            first = (spec["channel"],)
        order = list(dict.fromkeys([*first, *spec["fallback"]]))
        addresses: dict[str, str] = {}
        if customer.phone:
            addresses["phone"] = customer.phone
        if customer.email:
            addresses["email"] = customer.email
        for identity in await customers.identities(conn, customer_id):
            addresses.setdefault(identity.kind, identity.value)
        consent_rows = await ledger.current(conn, customer_id)
        current = {(e.channel, e.purpose): e.status for e in consent_rows}
        refused: list[str] = []
        chosen: str | None = None
        for name in order:
            way = SEND_CHANNELS[name]
            if way.identity not in addresses or not self._reachable(way):
                continue
            if not may_contact(current, name, campaign.purpose, list(self.settings.require_opt_in)):
                refused.append(name)
                continue
            chosen = name
            break
        if chosen is None:
            if not refused:
                return Decision(
                    "failed", detail=f"no way to reach the customer among {', '.join(order) or 'none'}"
                )
            since = campaign.started_at
            recent = [
                e
                for e in consent_rows
                if e.channel in refused
                and e.purpose == campaign.purpose
                and e.status == "opted_out"
                and since is not None
                and e.created_at >= since
            ]
            if recent:
                return Decision("opted_out", channel=refused[0], detail="opted out during the campaign")
            return Decision(
                "skipped_no_consent", channel=refused[0], detail=f"no consent on {', '.join(refused)}"
            )
        zone_name, _ = await timezone_of(conn, customer, prefs)
        zone = ZoneInfo(zone_name) if zone_name else self.server_zone
        quiet = QuietHours.model_validate(spec["quiet_hours"]) if spec.get("quiet_hours") else None
        until = quiet_until(quiet, zone, datetime.now(UTC))
        if until is not None:
            return Decision(
                "deferred_quiet_hours", channel=chosen, detail=f"quiet hours in {zone.key}", next_at=until
            )
        return Decision("sending", channel=chosen, address=addresses[SEND_CHANNELS[chosen].identity])

    async def _store_send(
        self, conn: asyncpg.Connection, campaign: CampaignRecord, customer_id: uuid.UUID, decision: Decision
    ) -> uuid.UUID:
        assert decision.channel is not None and decision.address is not None
        way = SEND_CHANNELS[decision.channel]
        message = CampaignMessage.model_validate(campaign.spec["message"])
        text = message.per_channel.get(way.name, message.text)
        attributes: dict[str, Any] = {"campaign_id": campaign.id, "campaign_purpose": campaign.purpose}
        if way.name == "whatsapp" and message.whatsapp_template is not None:
            last = await store.whatsapp_last_inbound(conn, customer_id)
            if last is None or datetime.now(UTC) - last > WHATSAPP_WINDOW:
                attributes["whatsapp_template"] = message.whatsapp_template.model_dump(mode="json")
        interaction_id, conversation_id = uuid.uuid4(), uuid.uuid4()
        await interactions.create(
            conn,
            namespace=self.namespace,
            interaction_id=interaction_id,
            customer_id=customer_id,
            conversation_id=conversation_id,
            new_conversation=True,
            channel=way.channel.value,
            external_id=f"campaign:{campaign.id}:{customer_id}",
            from_kind=way.adapter or way.identity,
            from_value=decision.address,
            queue_id=campaign.spec.get("reply_queue") or "",
            priority=0,
            attributes=attributes,
            subject=message.subject if way.name == "email" else None,
            venq_ms=int(time.time() * 1000),
        )
        await interactions.close(
            conn, self.namespace, interaction_id, InteractionStatus.ended.value, END_REASON
        )
        stored = await messages.insert(
            conn,
            interaction_id=interaction_id,
            conversation_id=conversation_id,
            channel=way.channel.value,
            direction="outbound",
            body=text,
            status="pending",
        )
        assert stored is not None
        await store.sending(conn, campaign.id, customer_id, way.name, interaction_id, stored.id, self.node_id)
        await journey.add_event(
            conn,
            customer_id,
            "campaign.sent",
            {"campaign_id": campaign.id, "channel": way.name, "text": text, "purpose": campaign.purpose},
            interaction_id=interaction_id,
            cap=self.journey_cap,
        )
        return stored.id


CAMPAIGNS = web.AppKey("campaigns", Campaigns)
