"""What the Twilio voice and SMS adapters share: settings, webhook verification, E.164 sender."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from multidict import MultiDict

from adapters.kit.settings import Settings
from adapters.kit.signatures import twilio_valid
from adapters.kit.webhooks import signature_rejected
from router.contracts import ANONYMOUS_KIND, IdentityIn, NotAnIdentity, is_withheld, phone_e164

SIGNATURE_HEADER = "X-Twilio-Signature"


class TwilioAccount:
    """Account settings shared by both Twilio adapters (``account_sid``, auth token, URLs)."""

    def __init__(self, adapter: str, config: Mapping[str, Any]) -> None:
        settings = Settings(adapter, config)
        self.adapter = adapter
        self.account_sid = settings.text("account_sid", "")
        self.auth_token = settings.secret("auth_token", "TWILIO_AUTH_TOKEN")
        self.base_url = settings.text("base_url", "https://api.twilio.com").rstrip("/")
        public = settings.optional_text("public_url")
        self.public_url = public.rstrip("/") if public else None
        self.region = settings.default_region()

    def basic_auth(self) -> str:
        """The ``Authorization`` header of the REST API (account SID and auth token)."""
        pair = f"{self.account_sid}:{self.auth_token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def request_url(self, request: web.Request) -> str:
        """The URL Twilio requested, as it signed it: ``public_url`` + path and query when set."""
        if self.public_url is None:
            return str(request.url)
        return self.public_url + str(request.rel_url)

    async def verified_form(self, request: web.Request) -> MultiDict[str] | web.Response:
        """The posted form if ``X-Twilio-Signature`` is valid, else the 403 response."""
        signature = request.headers.get(SIGNATURE_HEADER)
        form = await request.post()
        params = [(name, value) for name, value in form.items() if isinstance(value, str)]
        if not signature:
            return signature_rejected(self.adapter, request, "missing")
        if not twilio_valid(self.auth_token, self.request_url(request), params, signature):
            return signature_rejected(self.adapter, request, "mismatch")
        return MultiDict(params)


def caller_identity(value: str, region: str | None = None) -> IdentityIn:
    """A Twilio ``From``: a phone number becomes ``phone`` in E.164 (read in ``region`` when national); a
    withheld caller id (a word such as ``Anonymous``, one of Twilio's placeholder numbers, nothing)
    becomes ``anonymous_caller``, which the router links to no one; a client or SIP caller keeps its
    kind. A number that cannot be parsed is passed on as given: the router keeps it on the interaction
    and links no one by it."""
    raw = value.strip()
    if is_withheld("phone", raw):
        return IdentityIn(kind=ANONYMOUS_KIND, value=raw or "unknown")
    if raw.lower().startswith("client:"):
        return IdentityIn(kind="twilio_client", value=raw[len("client:") :] or "unknown")
    if raw.lower().startswith("sip:"):
        return IdentityIn(kind="sip", value=raw)
    try:
        return IdentityIn(kind="phone", value=phone_e164(raw, region))
    except NotAnIdentity:
        return IdentityIn(kind="phone", value=raw)
