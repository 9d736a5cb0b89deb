"""A small asynchronous client of the router's public HTTP API.

Used by channel adapters, the benchmark and the simulator; it speaks only the documented API.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp

from router.contracts import (
    IdentityJourneyEventIn,
    InboundEvent,
    IngestResult,
    InteractionOut,
    JourneyEventRecorded,
    MessageIn,
    MessageStatusIn,
)


class RouterAPIError(Exception):
    """The router answered with a problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('title')}: {problem.get('detail')}")
        self.status = status
        self.problem = problem


class RouterClient:
    def __init__(self, base_url: str, token: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._session = session
        self._own_session = session is None

    @property
    def token(self) -> str:
        """The token this client sends (the in-process adapters' own)."""
        return self._token

    async def __aenter__(self) -> RouterClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    async def request(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self.session.request(method, self.base_url + path, json=json, headers=headers) as resp:
            body = await resp.json(content_type=None) if resp.content_length != 0 else None
            if resp.status >= 400:
                raise RouterAPIError(resp.status, body if isinstance(body, dict) else {"title": str(body)})
            return resp.status, body

    async def ingest(self, event: InboundEvent) -> IngestResult:
        _, body = await self.request("POST", "/v1/interactions", event.model_dump(mode="json", by_alias=True))
        return IngestResult.model_validate(body)

    async def journey_event(self, event: IdentityJourneyEventIn) -> JourneyEventRecorded:
        """Record a journey event for whoever owns an identity (a customer is created if none does)."""
        _, body = await self.request(
            "POST", "/v1/journey-events", event.model_dump(mode="json", exclude_none=True)
        )
        return JourneyEventRecorded.model_validate(body)

    async def get_interaction(self, interaction_id: str) -> InteractionOut:
        _, body = await self.request("GET", f"/v1/interactions/{interaction_id}")
        return InteractionOut.model_validate(body)

    async def post_message(self, interaction_id: str, message: MessageIn) -> dict[str, Any]:
        _, body = await self.request(
            "POST", f"/v1/interactions/{interaction_id}/messages", message.model_dump(mode="json")
        )
        return dict(body)

    async def end(self, interaction_id: str, reason: str = "customer_left") -> InteractionOut:
        _, body = await self.request("POST", f"/v1/interactions/{interaction_id}/end", {"reason": reason})
        return InteractionOut.model_validate(body)

    async def message_status(self, message_id: str, status: MessageStatusIn) -> None:
        await self.request("POST", f"/v1/messages/{message_id}/status", status.model_dump(mode="json"))

    async def message_status_by_external_id(self, status: MessageStatusIn) -> None:
        """Record a provider receipt (delivered, read, failed) for the message with that provider id."""
        await self.request("POST", "/v1/messages/status", status.model_dump(mode="json"))

    async def find_interaction(self, channel: str, external_id: str) -> InteractionOut | None:
        """The interaction with this provider id on this channel, or None."""
        try:
            _, body = await self.request(
                "GET", "/v1/interactions?" + urlencode({"channel": channel, "external_id": external_id})
            )
        except RouterAPIError as exc:
            if exc.status == 404:
                return None
            raise
        return InteractionOut.model_validate(body)
