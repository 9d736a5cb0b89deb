"""What every provider webhook handler shares: the log, the 403, and calling the router.

Failures are sorted the way providers understand them: the router unreachable or failing
(5xx, 429, 408), or refusing the adapter's token (401, 403: a configuration to fix, not a
reason to drop customers' messages), raises :class:`RouterUnavailable`, which a handler answers
with 503 so the provider retries (the router is idempotent on external ids, so retries are
harmless); the router rejecting the event itself (any other 4xx) is logged once and
acknowledged, because a retry would be rejected again.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog
from aiohttp import web

from router.contracts import InboundEvent, IngestResult, MessageStatusIn
from router.sdk.client import RouterAPIError, RouterClient


class _AdapterLog:
    """Looks the logger up on each call, so the configuration in force (or a capture) applies."""

    def info(self, event: str, **fields: Any) -> None:
        structlog.get_logger("omniroute.adapters").info(event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        structlog.get_logger("omniroute.adapters").warning(event, **fields)


log = _AdapterLog()


class RouterUnavailable(Exception):
    """The router could not take the event now; the provider should retry."""


# Router answers that a later retry of the same event may get past.
_TRANSIENT = {401, 403, 408, 429}


def _classify(adapter: str, exc: Exception, event: str, **fields: object) -> None:
    if isinstance(exc, RouterAPIError) and exc.status < 500 and exc.status not in _TRANSIENT:
        log.warning(event, adapter=adapter, status=exc.status, detail=str(exc)[:300], **fields)
        return
    log.warning("adapter.router_unavailable", adapter=adapter, error=str(exc)[:300], **fields)
    raise RouterUnavailable(str(exc)) from exc


async def ingest(
    router: RouterClient,
    adapter: str,
    event: InboundEvent,
    *,
    queue: str | None = None,
    region: str | None = None,
) -> IngestResult | None:
    """Post one inbound event (into ``queue`` if the adapter is configured with one and the event
    names none; its numbers read in the adapter's ``region`` unless the event names one); ``None`` if
    the router rejected it for good."""
    if queue and not event.queue:
        event = event.model_copy(update={"queue": queue})
    if region and not event.region:
        event = event.model_copy(update={"region": region})
    try:
        result = await router.ingest(event)
    except (RouterAPIError, aiohttp.ClientError, TimeoutError) as exc:
        _classify(adapter, exc, "adapter.ingest_rejected", external_id=event.external_id)
        return None
    log.info(
        "adapter.ingested",
        adapter=adapter,
        external_id=event.external_id,
        interaction_id=result.id,
        created=result.created,
    )
    return result


async def record_status(router: RouterClient, adapter: str, status: MessageStatusIn) -> bool:
    """Record a provider receipt; ``False`` if the router does not know that message."""
    try:
        await router.message_status_by_external_id(status)
    except (RouterAPIError, aiohttp.ClientError, TimeoutError) as exc:
        _classify(adapter, exc, "adapter.status_rejected", external_id=status.external_id)
        return False
    return True


def signature_rejected(adapter: str, request: web.Request, reason: str) -> web.Response:
    """The one log line and the 403 for a bad or missing signature (never logs the secret)."""
    log.warning(
        "adapter.signature_invalid",
        adapter=adapter,
        path=request.path,
        reason=reason,
        remote=request.remote,
    )
    return web.Response(status=403, text="invalid signature")


def unavailable() -> web.Response:
    return web.Response(status=503, text="router unavailable, retry later", headers={"Retry-After": "5"})
