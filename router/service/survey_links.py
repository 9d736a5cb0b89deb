"""Signed links to the one-question survey page of an e-mail survey.

A link names the interaction, the kind of survey and an expiry, signed with HMAC-SHA256 under
``OMNIROUTE_SURVEY_SECRET`` (every router process holds the same secret, so any of them can serve the
page). The standard library's ``hmac`` is the maintained tool for exactly this; the token is
``base64url(JSON payload) "." base64url(signature)``, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from router.contracts import SurveyKind


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkClaim:
    interaction_id: uuid.UUID
    kind: SurveyKind


class SurveyLinks:
    def __init__(self, secret: str, base_url: str, lifetime_seconds: float) -> None:
        self._key = hashlib.sha256(b"omniroute-survey-link\0" + secret.encode()).digest()
        self.base_url = base_url.rstrip("/")
        self.lifetime_seconds = lifetime_seconds

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def token(self, interaction_id: uuid.UUID, kind: SurveyKind, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.lifetime_seconds)
        payload = _b64(json.dumps({"i": str(interaction_id), "k": kind.value, "e": expires}).encode())
        return f"{payload}.{self._sign(payload)}"

    def url(self, interaction_id: uuid.UUID, kind: SurveyKind) -> str:
        return f"{self.base_url}/survey/{self.token(interaction_id, kind)}"

    def verify(self, token: str, now: float | None = None) -> LinkClaim | None:
        """What a token claims, when its signature holds and it has not expired; None otherwise."""
        payload, _, signature = token.partition(".")
        if not payload or not signature or not payload.isascii():
            return None
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            data = json.loads(_unb64(payload))
            claim = LinkClaim(uuid.UUID(data["i"]), SurveyKind(data["k"]))
            expires = int(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < (now if now is not None else time.time()):
            return None
        return claim
