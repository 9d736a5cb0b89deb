"""Twilio Programmable Messaging (SMS/MMS).

``POST /adapters/twilio/sms`` takes inbound messages: the sender's number resolves to the
same customer as a call or WhatsApp message from it, ``MediaUrl{N}`` become attachments, and
the router joins the message to the customer's open SMS conversation (idempotent on
``MessageSid``). ``POST /adapters/twilio/sms/status`` records delivery receipts of the
agents' replies, which leave through the Messages API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from adapters.kit.payloads import MALFORMED, skipped
from adapters.kit.provider_http import ProviderHttp
from adapters.kit.settings import AdapterConfigError, Settings
from adapters.kit.text import SMS_LIMIT, send_parts, split_text
from adapters.kit.webhooks import RouterUnavailable, ingest, log, record_status, unavailable
from adapters.twilio.account import TwilioAccount, caller_identity
from adapters.twilio.twiml import TwiML
from router.contracts import (
    Attachment,
    Channel,
    ChannelCapabilities,
    InboundEvent,
    MessageStatusIn,
    OutboundAccepted,
    OutboundMessage,
)
from router.sdk.adapter import DeliveryError
from router.sdk.client import RouterClient

# Twilio message statuses → the router's receipt statuses (others are not receipts).
STATUS_MAP = {
    "accepted": "queued",
    "queued": "queued",
    "scheduled": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}


def sms_event(params: Mapping[str, str], region: str | None = None) -> InboundEvent:
    """The inbound event for one Twilio messaging webhook."""
    attachments = []
    for index in range(_count(params.get("NumMedia"))):
        url = params.get(f"MediaUrl{index}")
        if url:
            attachments.append(Attachment(url=url, content_type=params.get(f"MediaContentType{index}")))
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params["SmsSid"]
    attributes = {
        key: params[name]
        for key, name in (("to_number", "To"), ("sender_country", "FromCountry"))
        if params.get(name)
    }
    return InboundEvent.model_validate(
        {
            "channel": Channel.sms,
            "external_id": sid,
            "message_external_id": sid,
            "from": caller_identity(params.get("From", ""), region),
            "content": params.get("Body", ""),
            "attachments": attachments,
            "attributes": attributes,
        }
    )


def _count(value: str | None) -> int:
    try:
        return max(0, min(int(value or 0), 10))
    except ValueError:
        return 0


class TwilioSmsAdapter:
    name: ClassVar[str] = "twilio_sms"
    channel: ClassVar[Channel] = Channel.sms
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        text=True, media=True, delivery_receipts=True
    )

    def __init__(self, config: Mapping[str, Any], router: RouterClient) -> None:
        settings = Settings(self.name, config)
        self.account = TwilioAccount(self.name, config)
        self.router = router
        self.queue = settings.optional_text("queue")
        self.from_number = settings.optional_text("from_number")
        self.messaging_service_sid = settings.optional_text("messaging_service_sid")
        if not (self.from_number or self.messaging_service_sid):
            raise AdapterConfigError(
                f"adapters.{self.name}: set from_number or messaging_service_sid to send replies"
            )
        self.status_callback = settings.flag("status_callback", self.account.public_url is not None)
        self.http = ProviderHttp("twilio", settings.number("timeout_seconds", 15))

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post("/twilio/sms", self.incoming), web.post("/twilio/sms/status", self.status)]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.http.close()

    async def incoming(self, request: web.Request) -> web.Response:
        form = await self.account.verified_form(request)
        if isinstance(form, web.Response):
            return form
        try:
            event = sms_event(form, self.account.region)
        except MALFORMED as exc:
            log.warning("adapter.payload_skipped", adapter=self.name, skipped=[skipped("message", exc)])
            return web.Response(status=400, text="not a Twilio message webhook")
        try:
            await ingest(self.router, self.name, event, queue=self.queue, region=self.account.region)
        except RouterUnavailable:
            return unavailable()
        return TwiML().response()

    async def status(self, request: web.Request) -> web.Response:
        form = await self.account.verified_form(request)
        if isinstance(form, web.Response):
            return form
        sid = form.get("MessageSid") or form.get("SmsSid")
        status = STATUS_MAP.get(form.get("MessageStatus") or form.get("SmsStatus") or "")
        if sid and status:
            detail = form.get("ErrorCode")
            receipt = MessageStatusIn(
                external_id=sid, status=status, detail=f"error {detail}" if detail else None
            )
            try:
                await record_status(self.router, self.name, receipt)
            except RouterUnavailable:
                return unavailable()
        return web.Response(status=204)

    async def send(self, message: OutboundMessage) -> OutboundAccepted:
        if not self.account.account_sid:
            raise DeliveryError("twilio_sms: account_sid is not configured", retryable=False)
        statuses: list[str] = []

        async def one(part: str) -> str | None:
            body = await self._send_one(message.to.value, part)
            statuses.append(str(body.get("status", "")))
            sid = body.get("sid")
            return str(sid) if sid else None

        sid = await send_parts(split_text(message.body, SMS_LIMIT), one)
        return OutboundAccepted(external_id=sid, status=STATUS_MAP.get(statuses[0], "queued"))

    async def _send_one(self, to: str, text: str) -> dict[str, Any]:
        form: dict[str, str] = {"To": to, "Body": text}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = str(self.from_number)
        if self.status_callback and self.account.public_url:
            form["StatusCallback"] = f"{self.account.public_url}/adapters/twilio/sms/status"
        url = f"{self.account.base_url}/2010-04-01/Accounts/{self.account.account_sid}/Messages.json"
        return await self.http.call(
            "POST", url, data=form, headers={"Authorization": self.account.basic_auth()}
        )
