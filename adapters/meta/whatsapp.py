"""WhatsApp Cloud API: ``GET/POST /adapters/whatsapp`` and replies through the Graph API.

Inbound messages of every type post to the router as channel ``social`` from identity
``whatsapp:<wa_id>``; the router resolves a ``wa_id`` as the phone number it is, so a
WhatsApp message lands on the same customer as a call from that number. Status updates
(sent, delivered, read, failed) are recorded on the agent's outbound message by its
``wamid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from adapters.kit.provider_http import ProviderHttp
from adapters.kit.settings import Settings
from adapters.kit.text import WHATSAPP_LIMIT, send_parts, split_text
from adapters.kit.webhooks import RouterUnavailable, ingest, log, record_status, unavailable
from adapters.meta.webhook import MetaWebhook, graph_url
from adapters.meta.whatsapp_payload import parse_notification
from router.contracts import Channel, ChannelCapabilities, OutboundAccepted, OutboundMessage
from router.sdk.adapter import DeliveryError
from router.sdk.client import RouterClient


class WhatsAppAdapter:
    name: ClassVar[str] = "whatsapp"
    channel: ClassVar[Channel] = Channel.social
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        text=True, media=True, delivery_receipts=True, read_receipts=True
    )

    def __init__(self, config: Mapping[str, Any], router: RouterClient) -> None:
        settings = Settings(self.name, config)
        self.router = router
        self.queue = settings.optional_text("queue")
        self.region = settings.default_region()
        self.graph_url = graph_url(settings)
        self.phone_number_id = settings.optional_text("phone_number_id")
        self.access_token = settings.secret("access_token", "WHATSAPP_ACCESS_TOKEN")
        self.webhook = MetaWebhook(
            self.name,
            app_secret=settings.secret("app_secret", "WHATSAPP_APP_SECRET"),
            verify_token=settings.secret("verify_token", "WHATSAPP_VERIFY_TOKEN"),
        )
        self.http = ProviderHttp("whatsapp", settings.number("timeout_seconds", 15))

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/whatsapp", self.webhook.handshake), web.post("/whatsapp", self.incoming)]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.http.close()

    async def incoming(self, request: web.Request) -> web.Response:
        payload = await self.webhook.verified_json(request)
        if isinstance(payload, web.Response):
            return payload
        notification = parse_notification(payload, graph_url=self.graph_url)
        if notification.skipped:
            log.warning("adapter.payload_skipped", adapter=self.name, skipped=notification.skipped[:5])
        try:
            for event in notification.events:
                await ingest(self.router, self.name, event, queue=self.queue, region=self.region)
            for status in notification.statuses:
                await record_status(self.router, self.name, status)
        except RouterUnavailable:
            return unavailable()
        return web.Response(text="ok")

    async def send(self, message: OutboundMessage) -> OutboundAccepted:
        number_id = message.attributes.get("whatsapp_phone_number_id") or self.phone_number_id
        if not number_id:
            raise DeliveryError("whatsapp: phone_number_id is not configured", retryable=False)

        async def one(part: str) -> str | None:
            body = await self.http.call(
                "POST",
                f"{self.graph_url}/{number_id}/messages",
                json={
                    "messaging_product": "whatsapp",
                    "recipient_type": "individual",
                    "to": message.to.value.lstrip("+"),
                    "type": "text",
                    "text": {"preview_url": False, "body": part},
                },
                headers={"Authorization": f"Bearer {self.access_token}"},
            )
            messages = body.get("messages") or [{}]
            wamid = messages[0].get("id") if isinstance(messages[0], dict) else None
            return str(wamid) if wamid else None

        template = message.attributes.get("whatsapp_template")
        if isinstance(template, dict) and template.get("name"):
            # outside the 24-hour window WhatsApp takes only an approved template (a campaign's)
            return OutboundAccepted(
                external_id=await self._template(number_id, message, template), status="sent"
            )
        wamid = await send_parts(split_text(message.body, WHATSAPP_LIMIT), one)
        return OutboundAccepted(external_id=wamid, status="sent")

    async def _template(
        self, number_id: str, message: OutboundMessage, template: dict[str, Any]
    ) -> str | None:
        params = [str(p) for p in template.get("params") or []]
        body: dict[str, Any] = {
            "name": str(template["name"]),
            "language": {"code": str(template.get("language") or "en")},
        }
        if params:
            body["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
            ]
        answer = await self.http.call(
            "POST",
            f"{self.graph_url}/{number_id}/messages",
            json={
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": message.to.value.lstrip("+"),
                "type": "template",
                "template": body,
            },
            headers={"Authorization": f"Bearer {self.access_token}"},
        )
        sent = answer.get("messages") or [{}]
        wamid = sent[0].get("id") if isinstance(sent[0], dict) else None
        return str(wamid) if wamid else None
