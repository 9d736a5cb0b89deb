"""Hosting channel adapters: load them by name from the ``omniroute.adapters`` entry points, mount
their provider routes under ``/adapters``, and serve ``POST /adapters/{name}/outbound`` where the
router hands over agents' replies. Delivery to the provider is retried with backoff here, and every
outcome is reported to the router. The same host runs inside ``omniroute serve`` and alone
(``omniroute adapter NAME``)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from router.contracts import MessageStatusIn, OutboundMessage
from router.contracts.callbacks import CallbackDial
from router.sdk.adapter import ENTRY_POINT_GROUP, CallbackDialer, ChannelAdapter, DeliveryError
from router.sdk.client import RouterAPIError, RouterClient

log = structlog.get_logger("router.adapters")

ATTEMPTS = 5
FIRST_DELAY = 0.5


class AdapterConfigError(Exception):
    pass


def available() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load(sections: Mapping[str, Mapping[str, Any]], client: RouterClient) -> list[ChannelAdapter]:
    """Instantiate every adapter whose section says ``enabled = true``."""
    eps = available()
    adapters: list[ChannelAdapter] = []
    for name, section in sections.items():
        if not section.get("enabled", False):
            continue
        if name not in eps:
            raise AdapterConfigError(f"unknown adapter {name!r}; known: {', '.join(sorted(eps))}")
        cls = eps[name].load()
        try:
            adapters.append(cls(section, client))
        except ValueError as exc:  # the adapter's own configuration error: one line, naming the section
            raise AdapterConfigError(f"adapters.{name}: {exc}") from exc
    return adapters


def _problem(status: int, title: str, detail: str) -> web.Response:
    return web.json_response(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


class AdapterHost:
    def __init__(self, adapters: list[ChannelAdapter], client: RouterClient, token: str) -> None:
        self.adapters = {a.name: a for a in adapters}
        self.client = client
        self.token = token
        self._tasks: set[asyncio.Task[None]] = set()
        self.delay = FIRST_DELAY

    def app(self) -> web.Application:
        app = web.Application()
        for adapter in self.adapters.values():
            app.add_routes(adapter.routes())
        app.router.add_post("/{name}/outbound", self.outbound)
        app.router.add_post("/{name}/dial", self.dial)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _app: web.Application) -> None:
        for adapter in self.adapters.values():
            await adapter.start()
            log.info("adapter.started", adapter=adapter.name, channel=adapter.channel.value)

    async def _stop(self, _app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        for adapter in self.adapters.values():
            await adapter.stop()

    async def outbound(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if not (header.startswith("Bearer ") and hmac.compare_digest(header[7:], self.token)):
            return _problem(401, "Unauthorized", "the router's adapter token is required")
        adapter = self.adapters.get(request.match_info["name"])
        if adapter is None:
            return _problem(404, "Not found", "no such adapter here")
        try:
            message = OutboundMessage.model_validate_json(await request.read())
        except ValidationError as exc:
            return _problem(422, "Invalid outbound message", str(exc.error_count()) + " invalid fields")
        task = asyncio.create_task(self.deliver(adapter, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({"accepted": message.message_id}, status=202)

    async def dial(self, request: web.Request) -> web.Response:
        """Call a customer back for the router (a callback an agent accepted) and answer at once with the
        provider's call id; 502 when the provider refused or could not be reached."""
        header = request.headers.get("Authorization", "")
        if not (header.startswith("Bearer ") and hmac.compare_digest(header[7:], self.token)):
            return _problem(401, "Unauthorized", "the router's adapter token is required")
        adapter = self.adapters.get(request.match_info["name"])
        if adapter is None or not isinstance(adapter, CallbackDialer):
            return _problem(404, "Not found", "no adapter here places calls")
        try:
            dial = CallbackDial.model_validate_json(await request.read())
        except ValidationError as exc:
            return _problem(422, "Invalid dial request", str(exc.error_count()) + " invalid fields")
        try:
            placed = await adapter.dial(dial)
        except DeliveryError as exc:
            log.warning("adapter.dial_failed", adapter=adapter.name, interaction_id=dial.interaction_id)
            return _problem(502, "The provider did not place the call", exc.detail)
        log.info("adapter.dialed", adapter=adapter.name, interaction_id=dial.interaction_id)
        return web.json_response(placed.model_dump(mode="json"))

    async def deliver(self, adapter: ChannelAdapter, message: OutboundMessage) -> None:
        delay = self.delay
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = await adapter.send(message)
            except DeliveryError as exc:
                final = not exc.retryable or attempt == ATTEMPTS
                log.warning(
                    "adapter.send_failed",
                    adapter=adapter.name,
                    message_id=message.message_id,
                    attempt=attempt,
                    status=exc.status,
                    retryable=exc.retryable,
                )
                await self._report(
                    message.message_id, "failed" if final else "retrying", f"{adapter.name}: {exc.detail}"
                )
                if final:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
                continue
            await self._report(message.message_id, result.status or "sent", None, result.external_id)
            log.info("adapter.sent", adapter=adapter.name, message_id=message.message_id)
            return

    async def _report(
        self, message_id: str, status: str, detail: str | None, external_id: str | None = None
    ) -> None:
        try:
            await self.client.message_status(
                message_id,
                MessageStatusIn.model_validate(
                    {"status": status, "detail": detail, "external_id": external_id}
                ),
            )
        except (RouterAPIError, OSError) as exc:
            log.warning("adapter.report_failed", message_id=message_id, error=type(exc).__name__)
