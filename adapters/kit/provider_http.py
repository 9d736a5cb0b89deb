"""Outbound HTTP calls to a provider API, with failures mapped to :class:`DeliveryError`.

Connection errors, timeouts, 5xx, 408 and 429 are retryable; any other 4xx is permanent.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from router.sdk.adapter import DeliveryError

_RETRYABLE_4XX = {408, 425, 429}


class ProviderHttp:
    """A lazily opened client session for one adapter's provider calls."""

    def __init__(self, provider: str, timeout_seconds: float = 15.0) -> None:
        self.provider = provider
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = None

    async def call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """Send one request; the JSON object answered, or ``{}`` for an empty or non-JSON 2xx."""
        try:
            async with self.session.request(method, url, **kwargs) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise DeliveryError(
                        f"{self.provider} answered {resp.status}: {text[:500]}",
                        retryable=resp.status >= 500 or resp.status in _RETRYABLE_4XX,
                        status=resp.status,
                    )
                try:
                    body = await resp.json(content_type=None) if text else {}
                except ValueError:
                    return {}
                return body if isinstance(body, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{self.provider} unreachable: {exc!r}", retryable=True) from exc
