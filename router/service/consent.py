"""Consent changes: appended to the ledger, then announced on the event stream (webhook type
``consent.changed``). Keywords (STOP, START…) received by SMS or WhatsApp are changes too
(:func:`keyword_change`)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import asyncpg
import structlog

from context_store import consent as ledger
from context_store.records import ConsentEvent
from router.contracts import Channel
from router.contracts.consent import START_WORDS, STOP_WORDS
from router.routing.engine import Engine
from router.routing.events import publish

log = structlog.get_logger("router.service.consent")


async def record_consent(
    pool: asyncpg.Pool,
    engine: Engine,
    customer_id: uuid.UUID,
    channel: str,
    purpose: str,
    status: str,
    source: str,
    evidence: dict[str, Any] | None,
    actor: str,
) -> ConsentEvent:
    changed = await ledger.record(pool, customer_id, channel, purpose, status, source, evidence, actor)
    log.info("consent.changed", customer_id=str(customer_id), channel=channel, purpose=purpose, status=status)
    await publish(
        engine,
        "consent_changed",
        {
            "customer_id": str(customer_id),
            "channel": channel,
            "purpose": purpose,
            "status": status,
            "source": source,
            "actor": actor,
        },
    )
    return changed


def consent_channel(channel: Channel, from_kind: str) -> str | None:
    """The consent channel an inbound message came by, when keywords count there (SMS, WhatsApp)."""
    if channel == Channel.sms:
        return "sms"
    if channel == Channel.social and from_kind == "whatsapp":
        return "whatsapp"
    return None


def keyword_change(
    text: str | None, stop_words: list[str], start_words: list[str]
) -> Literal["opted_out", "opted_in"] | None:
    """What a message that is only a keyword asks for (case and surrounding blanks aside)."""
    if not text:
        return None
    word = text.strip().casefold()
    if word in {w.casefold() for w in (*STOP_WORDS, *stop_words)}:
        return "opted_out"
    if word in {w.casefold() for w in (*START_WORDS, *start_words)}:
        return "opted_in"
    return None
