"""Facebook Messenger: ``GET/POST /adapters/messenger`` and replies through the Send API.

Messages and postbacks post to the router as channel ``social`` from identity
``messenger:<PSID>``. Delivery receipts name message ids (``mids``) or only a watermark, and
read receipts only a watermark: the adapter remembers, per person and per process, the ids
and times of the replies it sent, so a watermark marks each of them delivered or read.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from adapters.kit.provider_http import ProviderHttp
from adapters.kit.settings import Settings
from adapters.kit.text import MESSENGER_LIMIT, send_parts, split_text
from adapters.kit.webhooks import RouterUnavailable, ingest, log, record_status, unavailable
from adapters.meta.messenger_payload import parse_batch, receipts_for
from adapters.meta.webhook import MetaWebhook, graph_url
from router.contracts import Channel, ChannelCapabilities, OutboundAccepted, OutboundMessage
from router.sdk.client import RouterClient

_PEOPLE = 10_000
_PER_PERSON = 50


class MessengerAdapter:
    name: ClassVar[str] = "messenger"
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
        self.page_token = settings.secret("page_token", "MESSENGER_PAGE_TOKEN")
        self.messaging_type = settings.text("messaging_type", "RESPONSE")
        self.webhook = MetaWebhook(
            self.name,
            app_secret=settings.secret("app_secret", "MESSENGER_APP_SECRET"),
            verify_token=settings.secret("verify_token", "MESSENGER_VERIFY_TOKEN"),
        )
        self.http = ProviderHttp("messenger", settings.number("timeout_seconds", 15))
        self._sent: OrderedDict[str, list[tuple[int, str]]] = OrderedDict()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/messenger", self.webhook.handshake), web.post("/messenger", self.incoming)]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.http.close()

    async def incoming(self, request: web.Request) -> web.Response:
        payload = await self.webhook.verified_json(request)
        if isinstance(payload, web.Response):
            return payload
        batch = parse_batch(payload)
        if batch.skipped:
            log.warning("adapter.payload_skipped", adapter=self.name, skipped=batch.skipped[:5])
        try:
            for event in batch.events:
                await ingest(self.router, self.name, event, queue=self.queue, region=self.region)
            for receipt in batch.receipts:
                sent = self._sent.get(receipt.psid, [])
                for status in receipts_for(receipt, sent):
                    await record_status(self.router, self.name, status)
                if receipt.status == "read" and receipt.watermark is not None:
                    self._sent[receipt.psid] = [(at, mid) for at, mid in sent if at > receipt.watermark]
        except RouterUnavailable:
            return unavailable()
        return web.Response(text="EVENT_RECEIVED")

    async def send(self, message: OutboundMessage) -> OutboundAccepted:
        async def one(part: str) -> str | None:
            body = await self.http.call(
                "POST",
                f"{self.graph_url}/me/messages",
                headers={"Authorization": f"Bearer {self.page_token}"},
                json={
                    "recipient": {"id": message.to.value},
                    "messaging_type": self.messaging_type,
                    "message": {"text": part},
                },
            )
            mid = body.get("message_id")
            if mid:
                self._remember(message.to.value, str(mid))
            return str(mid) if mid else None

        mid = await send_parts(split_text(message.body, MESSENGER_LIMIT), one)
        return OutboundAccepted(external_id=mid, status="sent")

    def _remember(self, psid: str, mid: str) -> None:
        sent = self._sent.setdefault(psid, [])
        sent.append((int(time.time() * 1000), mid))
        del sent[:-_PER_PERSON]
        self._sent.move_to_end(psid)
        while len(self._sent) > _PEOPLE:
            self._sent.popitem(last=False)
