"""What the WhatsApp and Messenger adapters share: Meta's webhook handshake and signature.

``GET`` with ``hub.mode=subscribe`` and the configured ``hub.verify_token`` answers the raw
``hub.challenge``; anything else is 403. ``POST`` bodies are verified with
``X-Hub-Signature-256`` over the raw bytes before they are parsed.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from adapters.kit.settings import Settings
from adapters.kit.signatures import meta_valid
from adapters.kit.webhooks import log, signature_rejected

SIGNATURE_HEADER = "X-Hub-Signature-256"


class MetaWebhook:
    def __init__(self, adapter: str, *, app_secret: str, verify_token: str) -> None:
        self.adapter = adapter
        self._app_secret = app_secret
        self._verify_token = verify_token

    async def handshake(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == self._verify_token:
            log.info("adapter.webhook_verified", adapter=self.adapter)
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("adapter.verify_token_invalid", adapter=self.adapter, remote=request.remote)
        return web.Response(status=403, text="verification failed")

    async def verified_json(self, request: web.Request) -> dict[str, Any] | web.Response:
        """The parsed body if its signature is valid, else the 403 (or 400) response."""
        body = await request.read()
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            return signature_rejected(self.adapter, request, "missing")
        if not meta_valid(self._app_secret, body, header):
            return signature_rejected(self.adapter, request, "mismatch")
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="body is not JSON")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="body is not a JSON object")
        return payload


def graph_url(settings: Settings) -> str:
    """The Graph API both Meta platforms call: ``base_url`` and ``api_version`` of the adapter's section."""
    base_url = settings.text("base_url", "https://graph.facebook.com").rstrip("/")
    return f"{base_url}/{settings.text('api_version', 'v21.0')}"
