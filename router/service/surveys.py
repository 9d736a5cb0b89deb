"""Surveys in the customer's own channel.

After an interaction of a queue with a ``survey`` completes, the customer is asked one question in
the channel they used: a text asking for a number on SMS, WhatsApp and Messenger, a line in the web
chat widget, an SMS after a call. A bare number written back from that customer on that channel while
the request is open (for ``[reports] survey_reply_hours``) is read as the answer, not as a new contact;
anything else closes the request and is a contact as usual. Answers also arrive at
``POST /v1/interactions/{id}/survey``. A customer is sent at most one survey per
``[reports] survey_cooldown_days``."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from aiohttp import web

from context_store import interactions, journey, messages
from context_store import surveys as survey_store
from context_store.db import parse_uuid
from context_store.records import Interaction, Message, Survey
from router.backends import UNAVAILABLE
from router.contracts import (
    PHONE_KINDS,
    SURVEY_SCALES,
    Channel,
    InteractionStatus,
    NotAnIdentity,
    SurveyConfig,
    SurveyIn,
    SurveyKind,
    WithheldIdentity,
    normalize_identity,
)
from router.errors import Conflict, NotFound
from router.routing.directory import Directory
from router.service.outbound import Outbound
from router.service.survey_links import SurveyLinks

log = structlog.get_logger("router.service.surveys")

SENT_IN_CONVERSATION = (Channel.sms, Channel.social, Channel.chat)
"""Where the survey is a message in the interaction itself (the web chat widget shows it as a line), and
a bare number the customer writes back while it is open is read as the answer."""
REPLY_CHANNELS = SENT_IN_CONVERSATION

QUESTIONS: dict[SurveyKind, str] = {
    SurveyKind.csat: "How satisfied are you with the help you got today?",
    SurveyKind.nps: "How likely are you to recommend us to a friend?",
    SurveyKind.ces: "How easy was it to get what you needed today?",
}
SCALE_WORDS: dict[SurveyKind, str] = {
    SurveyKind.csat: "1 (not at all) to 5 (very satisfied)",
    SurveyKind.nps: "0 (not at all likely) to 10 (extremely likely)",
    SurveyKind.ces: "1 (very easy) to 7 (very difficult)",
}


def question_text(kind: SurveyKind) -> str:
    """The survey as a text to answer with a number."""
    return f"{QUESTIONS[kind]} Reply with a number from {SCALE_WORDS[kind]}."


def question_mail(kind: SurveyKind, url: str) -> str:
    """The survey as an e-mail: the question and the link to its page."""
    return f"{QUESTIONS[kind]}\n\nOne question, one click: {url}\n\nThank you."


_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.!]?\s*$")


def _phone(it: Interaction) -> str | None:
    """The caller's number in E.164, or None when the call came from no number that can be texted."""
    if it.from_kind not in PHONE_KINDS or not it.from_value:
        return None
    try:
        kind, value = normalize_identity(it.from_kind, it.from_value)
    except (NotAnIdentity, WithheldIdentity):
        return None
    return value if kind == "phone" else None


def read_score(kind: SurveyKind, text: str) -> int | None:
    """The score a reply gives, or None when the reply is not a bare number on the kind's scale."""
    m = _NUMBER.match(text)
    if m is None:
        return None
    score = int(m.group(1))
    low, high = SURVEY_SCALES[kind]
    return score if low <= score <= high else None


class Surveys:
    """Sending surveys after completed work, and recording the answers."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        namespace: str,
        directory: Directory,
        outbound: Outbound | None,
        *,
        cooldown_days: int,
        reply_hours: float,
        links: SurveyLinks | None = None,
    ) -> None:
        self.links = links
        self.pool = pool
        self.namespace = namespace
        self.directory = directory
        self.outbound = outbound
        self.cooldown_days = cooldown_days
        self.reply_hours = reply_hours

    async def answered(self, interaction_id: uuid.UUID) -> Survey | None:
        return await survey_store.get(self.pool, interaction_id)

    async def answer(self, interaction_id: str, answer: SurveyIn, *, via: str = "api") -> Survey:
        """Record the answer to the survey about an interaction (the first answer stands: a second is a
        :class:`Conflict`), close the customer's open requests, and put it on the journey."""
        iid = parse_uuid(interaction_id)
        it = await interactions.get(self.pool, self.namespace, iid) if iid else None
        if it is None:
            raise NotFound(f"interaction {interaction_id} not found")
        async with self.pool.acquire() as conn, conn.transaction():
            stored = await self._record(conn, it, answer.kind, answer.score, answer.comment, via=via)
        if stored is None:
            raise Conflict(f"the survey of interaction {interaction_id} was answered already")
        return stored

    async def _record(
        self,
        conn: asyncpg.Connection,
        it: Interaction,
        kind: SurveyKind,
        score: int,
        comment: str | None,
        *,
        via: str,
    ) -> Survey | None:
        stored = await survey_store.answer(conn, it.id, it.customer_id, kind.value, score, comment)
        if stored is None:
            return None
        await survey_store.close_requests(conn, it.customer_id)
        await journey.add_event(
            conn,
            it.customer_id,
            "survey.answered",
            {"kind": kind.value, "score": score, "channel": it.channel, "queue": it.queue, "via": via},
            interaction_id=it.id,
        )
        log.info("survey.answered", interaction_id=str(it.id), kind=kind.value, via=via)
        return stored

    async def reply(
        self, conn: asyncpg.Connection, customer_id: uuid.UUID, channel: Channel, text: str | None
    ) -> tuple[uuid.UUID, Message | None] | None:
        """An inbound text on ``conn``'s transaction, before it becomes a contact: when the customer has
        an open survey on this channel and the text is a bare number on its scale, it is the answer (the
        text is kept in the surveyed interaction) and the surveyed interaction's id is returned. Any
        other text closes the open request and returns None: it is a contact as usual."""
        if channel not in REPLY_CHANNELS:
            return None
        since = datetime.now(UTC) - timedelta(hours=self.reply_hours)
        request = await survey_store.open_request(conn, self.namespace, customer_id, channel.value, since)
        if request is None:
            return None
        kind = SurveyKind(request.kind)
        score = read_score(kind, text or "")
        if score is None:
            await survey_store.close_requests(conn, customer_id)
            return None
        it = await interactions.get(conn, self.namespace, request.interaction_id)
        assert it is not None  # the request is of this domain's interaction
        if await self._record(conn, it, kind, score, None, via=channel.value) is None:
            await survey_store.close_requests(conn, customer_id)
            return None
        stored = await messages.insert(
            conn,
            interaction_id=it.id,
            conversation_id=it.conversation_id,
            channel=request.channel,
            direction="inbound",
            body=text or "",
            status="received",
        )
        return it.id, stored

    async def after_completion(self, interaction_id: uuid.UUID | str) -> bool:
        """Send the queue's survey about a completed interaction, unless the customer had one within the
        cooldown or the channel has no way to ask; True when one was sent. A backend error is logged and
        not raised: the work is complete either way."""
        try:
            return await self._send(interaction_id)
        except UNAVAILABLE as exc:
            log.warning("survey.not_sent", interaction_id=str(interaction_id), error=type(exc).__name__)
            return False

    def _channel_for(self, it: Interaction) -> Channel | None:
        """Where the survey about an interaction is asked: in its own conversation (SMS, WhatsApp,
        Messenger, web chat, e-mail with a signed link when links are configured), or by SMS to the caller
        after a call (when an SMS adapter is configured and the caller's number can take a text); None: not
        asked."""
        channel = Channel[it.channel]
        if channel in SENT_IN_CONVERSATION:
            return channel
        if channel is Channel.email and self.links is not None:
            return channel
        if channel is Channel.voice and _phone(it) is not None:
            if self.outbound is not None and self.outbound.route_for(Channel.sms.value, None) is not None:
                return Channel.sms
        return None

    async def _send(self, interaction_id: uuid.UUID | str) -> bool:
        iid = interaction_id if isinstance(interaction_id, uuid.UUID) else uuid.UUID(str(interaction_id))
        it = await interactions.get(self.pool, self.namespace, iid)
        if it is None or it.status != InteractionStatus.completed:
            return False
        queue = self.directory.queues.get(it.queue)
        config: SurveyConfig | None = queue.survey if queue else None
        if config is None:
            return False
        channel = self._channel_for(it)
        if channel is None:
            log.info("survey.channel_not_supported", interaction_id=str(it.id), channel=it.channel)
            return False
        async with self.pool.acquire() as conn, conn.transaction():
            request = await survey_store.request(
                conn, it.id, it.customer_id, config.kind.value, channel.value, self.cooldown_days
            )
            if request is None:
                log.info("survey.cooldown", interaction_id=str(it.id))
                return False
            message = await messages.insert(
                conn,
                interaction_id=it.id,
                conversation_id=it.conversation_id,
                channel=channel.value,
                direction="outbound",
                body=question_mail(config.kind, self.links.url(it.id, config.kind))
                if channel is Channel.email and self.links is not None
                else question_text(config.kind),
                status="pending",
            )
            await journey.add_event(
                conn,
                it.customer_id,
                "survey.sent",
                {"kind": config.kind.value, "channel": channel.value, "queue": it.queue},
                interaction_id=it.id,
            )
        if message is not None and self.outbound is not None:
            await self.outbound.submit(str(message.id))
        log.info("survey.sent", interaction_id=str(it.id), kind=config.kind.value, channel=channel.value)
        return True


SURVEYS = web.AppKey("surveys", Surveys)
