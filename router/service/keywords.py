"""Consent keywords: a customer who texts STOP (or START…) by SMS or WhatsApp changes their consent by
that message alone. The message is kept in their journey as an interaction that ends at once (status
``ended``, end reason ``consent_keyword``: never queued, never offered to an agent), the ledger gets the
change for each of ``[outbound] keyword_purposes``, and the confirmation is sent back on the same
channel through the channel's adapter, like any outbound message. One transaction, idempotent on the
event's external id: a retried keyword neither changes the ledger twice nor confirms twice."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from context_store import consent as ledger
from context_store import customers, interactions, messages
from router.config import OutboundSection
from router.contracts import InboundEvent, IngestResult, InteractionStatus
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.events import publish
from router.service.consent import consent_channel, keyword_change
from router.service.outbound import Outbound

log = structlog.get_logger("router.service.keywords")

END_REASON = "consent_keyword"


class ConsentKeywords:
    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        outbound: Outbound | None,
        settings: OutboundSection,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.outbound = outbound
        self.settings = settings
        # campaigns mark what they sent: (customer, purposes opted out of)
        self.opt_out_hooks: list[Callable[[uuid.UUID, list[str]], Awaitable[None]]] = []

    def change_for(self, ev: InboundEvent) -> tuple[str, str] | None:
        """(consent channel, new status) when the event is a keyword on a channel keywords count on."""
        channel = consent_channel(ev.channel, ev.from_.kind)
        if channel is None:
            return None
        status = keyword_change(ev.content, self.settings.stop_words, self.settings.start_words)
        return (channel, status) if status is not None else None

    async def handle(
        self, ev: InboundEvent, linking: list[tuple[str, str]], email: str | None, phone: str | None
    ) -> IngestResult | None:
        """The answer to a keyword event, or None when the event is not one (it is then routed)."""
        found = self.change_for(ev)
        if found is None or not linking:
            return None
        consent_channel_name, status = found
        channel = ev.channel.value
        queue = ev.queue or self.directory.choose_queue(channel, ev.attributes) or ""
        msg_ext = ev.message_external_id or ev.external_id
        reply_text = self.settings.stop_reply if status == "opted_out" else self.settings.start_reply
        reply_id: uuid.UUID | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            await interactions.lock_external_id(conn, self.engine.namespace, channel, ev.external_id)
            existing = await interactions.id_by_external(conn, self.engine.namespace, channel, ev.external_id)
            if existing is not None:
                it = await interactions.get(conn, self.engine.namespace, existing)
                assert it is not None
                return _result(it.id, it.customer_id, it.conversation_id, it.status, it.queue, created=False)
            customer_id = await customers.resolve_customer(conn, linking, email=email, phone=phone)
            interaction_id, conversation_id = uuid.uuid4(), uuid.uuid4()
            await interactions.create(
                conn,
                namespace=self.engine.namespace,
                interaction_id=interaction_id,
                customer_id=customer_id,
                conversation_id=conversation_id,
                new_conversation=True,
                channel=channel,
                external_id=ev.external_id,
                from_kind=ev.from_.kind,
                from_value=ev.from_.value,
                queue_id=queue,
                priority=0,
                attributes={**ev.attributes, "consent_keyword": status},
                subject=None,
                venq_ms=int(time.time() * 1000),
            )
            await messages.insert(
                conn,
                interaction_id=interaction_id,
                conversation_id=conversation_id,
                channel=channel,
                direction="inbound",
                body=ev.content or "",
                external_id=msg_ext,
            )
            await interactions.close(
                conn, self.engine.namespace, interaction_id, InteractionStatus.ended.value, END_REASON
            )
            evidence = {"keyword": (ev.content or "").strip(), "external_id": ev.external_id}
            evidence["interaction_id"] = str(interaction_id)
            for purpose in self.settings.keyword_purposes:
                await ledger.record(
                    conn,
                    customer_id,
                    consent_channel_name,
                    purpose,
                    status,
                    f"keyword:{channel}",
                    evidence,
                    "customer",
                )
            reply = await messages.insert(
                conn,
                interaction_id=interaction_id,
                conversation_id=conversation_id,
                channel=channel,
                direction="outbound",
                body=reply_text,
                status="pending",
            )
            reply_id = reply.id if reply is not None else None
        log.info(
            "consent.keyword",
            customer_id=str(customer_id),
            channel=consent_channel_name,
            status=status,
            interaction_id=str(interaction_id),
        )
        for purpose in self.settings.keyword_purposes:
            await publish(
                self.engine,
                "consent_changed",
                {
                    "customer_id": str(customer_id),
                    "channel": consent_channel_name,
                    "purpose": purpose,
                    "status": status,
                    "source": f"keyword:{channel}",
                    "actor": "customer",
                },
            )
        if status == "opted_out":
            for hook in self.opt_out_hooks:
                await hook(customer_id, list(self.settings.keyword_purposes))
        if reply_id is not None and self.outbound is not None:
            await self.outbound.submit(str(reply_id))
        return _result(
            interaction_id, customer_id, conversation_id, InteractionStatus.ended.value, queue, created=True
        )


def _result(
    interaction_id: uuid.UUID,
    customer_id: uuid.UUID,
    conversation_id: uuid.UUID,
    status: str,
    queue: str,
    *,
    created: bool,
) -> IngestResult:
    return IngestResult(
        id=str(interaction_id),
        customer_id=str(customer_id),
        conversation_id=str(conversation_id),
        status=InteractionStatus(status),
        queue=queue,
        position=None,
        estimated_wait_seconds=None,
        created=created,
    )
