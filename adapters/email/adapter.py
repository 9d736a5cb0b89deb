"""E-mail: a real SMTP listener for inbound mail and an SMTP relay for the agents' replies.

Inbound, an aiosmtpd server (``smtp_host``:``smtp_port``, default 127.0.0.1:2525) runs in the
router's own event loop; each message is parsed (:mod:`adapters.email.mime`) and posted to the
router before the SMTP transaction is answered, so the sending MTA keeps and retries the mail
(451) if the router cannot take it now. ``Message-ID`` identifies the message (a retry is
idempotent) and ``In-Reply-To`` / ``References`` thread a reply into its conversation.

Outbound, replies go to the configured relay with ``In-Reply-To`` and ``References`` set from
the conversation and a fresh ``Message-ID``, which becomes the message's external id, so the
customer's answer threads back.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, ClassVar

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.email.bounces import Bounce, bounce_of
from adapters.email.mime import mail_event, message_ids, read_mail
from adapters.kit.settings import Settings
from adapters.kit.webhooks import RouterUnavailable, ingest, log, record_status
from router.contracts import Channel, ChannelCapabilities, OutboundAccepted, OutboundMessage
from router.sdk.adapter import DeliveryError
from router.sdk.client import RouterClient

MAX_REFERENCES = 20
# What parsing a malformed message can raise: our own checks (ValueError) and the standard library's
# header and MIME parsers, which fail this way on some broken input instead of recording a defect.
UNREADABLE = (ValueError, LookupError, IndexError, AttributeError, TypeError, KeyError)


class _Inbox:
    """The aiosmtpd handler: one ``handle_DATA`` per received message."""

    def __init__(self, adapter: EmailAdapter) -> None:
        self.adapter = adapter

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        if raw is None:
            return "554 5.6.0 empty message"
        try:
            message = read_mail(raw)
            bounce = bounce_of(message)
            if bounce is not None:
                return await self._bounce(bounce)
            event = mail_event(message, raw, recipients=list(envelope.rcpt_tos))
        except UNREADABLE as exc:
            log.warning(
                "adapter.mail_unreadable",
                adapter="email",
                error=f"{type(exc).__name__}: {str(exc)[:200]}",
                peer=session.peer,
            )
            return "550 5.6.0 message not readable"
        try:
            result = await ingest(
                self.adapter.router, "email", event, queue=self.adapter.queue, region=self.adapter.region
            )
        except RouterUnavailable:
            return "451 4.3.0 temporarily unable to accept the message, try again later"
        if result is None:
            return "550 5.7.1 message not accepted"
        return "250 2.0.0 OK"

    async def _bounce(self, bounce: Bounce) -> str:
        """A delivery report about one of our replies: a receipt, not a customer message."""
        receipt = bounce.receipt()
        log.info("adapter.mail_bounce", adapter="email", original=bounce.original_id, action=bounce.action)
        if receipt is not None:
            try:
                await record_status(self.adapter.router, "email", receipt)
            except RouterUnavailable:
                return "451 4.3.0 temporarily unable to accept the message, try again later"
        return "250 2.0.0 OK"


class EmailAdapter:
    name: ClassVar[str] = "email"
    channel: ClassVar[Channel] = Channel.email
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(text=True, media=True, subject=True)

    def __init__(self, config: Mapping[str, Any], router: RouterClient) -> None:
        settings = Settings(self.name, config)
        self.router = router
        self.queue = settings.optional_text("queue")
        self.region = settings.default_region()
        self.smtp_host = settings.text("smtp_host", "127.0.0.1")
        self.smtp_port = settings.integer("smtp_port", 2525)
        self.hostname = settings.text("hostname", "omniroute.localhost")
        self.max_message_bytes = settings.integer("max_message_bytes", 25 * 1024 * 1024)
        self.relay_host = settings.text("relay_host", "127.0.0.1")
        self.relay_port = settings.integer("relay_port", 25)
        self.relay_starttls = settings.flag("relay_starttls", False)
        self.relay_username = settings.optional_text("relay_username")
        self.relay_password = settings.optional_secret("relay_password", "EMAIL_RELAY_PASSWORD")
        self.relay_timeout = settings.number("relay_timeout_seconds", 30)
        self.from_address = settings.required_text("from_address")
        self.from_name = settings.optional_text("from_name")
        self.message_id_domain = settings.text("message_id_domain", self.from_address.rsplit("@", 1)[-1])
        self._server: asyncio.Server | None = None

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    @property
    def listening_port(self) -> int | None:
        """The bound SMTP port (useful with ``smtp_port = 0``)."""
        if self._server is None or not self._server.sockets:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        inbox = _Inbox(self)

        def protocol() -> SMTP:
            return SMTP(
                inbox,
                hostname=self.hostname,
                data_size_limit=self.max_message_bytes,
                enable_SMTPUTF8=True,
                loop=loop,
            )

        self._server = await loop.create_server(protocol, self.smtp_host, self.smtp_port)
        log.info("adapter.smtp_listening", adapter=self.name, host=self.smtp_host, port=self.listening_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # ------------------------------------------------------------------ outbound

    def compose(self, message: OutboundMessage) -> EmailMessage:
        """The reply as a MIME message; :class:`DeliveryError` if it cannot be addressed."""
        to = message.to.value.strip()
        if message.to.kind != "email" or "@" not in to or any(c in to for c in "\r\n<>,;"):
            raise DeliveryError(f"no e-mail address to reply to ({message.to.kind})", retryable=False)
        mail = EmailMessage()
        mail["From"] = formataddr((self.from_name or "", self.from_address))
        mail["To"] = to
        subject = " ".join((message.subject or "").split())
        if message.attributes.get("campaign_id"):
            mail["Subject"] = subject or "A message for you"  # a campaign's first message, not a reply
        elif subject and not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"
        if "Subject" not in mail:
            mail["Subject"] = subject or "Re: your message"
        if message.attributes.get("campaign_id"):
            # one Message-ID per campaign message: a second copy is the same message to the receiving side
            mail["Message-ID"] = f"<campaign-{message.message_id}@{self.message_id_domain}>"
        else:
            mail["Message-ID"] = make_msgid(domain=self.message_id_domain)
        parent = next(iter(message_ids(message.in_reply_to)), None)
        references = message_ids(*message.references)
        if parent:
            mail["In-Reply-To"] = parent
            references = [r for r in references if r != parent] + [parent]
        if references:
            mail["References"] = " ".join(references[-MAX_REFERENCES:])
        mail.set_content(message.body)
        return mail

    async def send(self, message: OutboundMessage) -> OutboundAccepted:
        mail = self.compose(message)
        await asyncio.to_thread(self._relay, mail)
        return OutboundAccepted(external_id=str(mail["Message-ID"]), status="sent")

    def _relay(self, mail: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.relay_host, self.relay_port, timeout=self.relay_timeout) as client:
                if self.relay_starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.relay_username and self.relay_password:
                    client.login(self.relay_username, self.relay_password)
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            retryable = all(400 <= code < 500 for code in codes)
            raise DeliveryError(f"relay refused the recipient: {codes}", retryable=retryable) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"relay answered {exc.smtp_code}: {exc.smtp_error!r}"[:500],
                retryable=400 <= exc.smtp_code < 500,
                status=exc.smtp_code,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"relay unreachable: {exc!r}"[:500], retryable=True) from exc
