"""The HTTP API for integrators: webhooks (``/v1/webhooks``) and the AsyncAPI document of the sockets
(``/v1/asyncapi.json``). Routes are entries of ``INTEGRATION_ROUTES`` in the route table."""

from __future__ import annotations

import re
import secrets
import uuid

import structlog
from aiohttp import web

from context_store import webhooks as store
from context_store.db import parse_uuid
from context_store.records import DeliveryInfo, Webhook
from router.backends import POOL
from router.contracts import Role
from router.contracts.webhooks import (
    DELIVERY_STATUSES,
    EVENT_ID_PATTERN,
    DeliveryOut,
    ReplayIn,
    ReplayOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    parse_event_id,
)
from router.errors import BadRequest, NotFound
from router.http.asyncapi import asyncapi_document
from router.http.common import body, ok
from router.http.routes import INTEGRATION_ROUTES, route_defs
from router.routing.engine import ENGINE
from router.service import auth
from router.service.addresses import UnsafeAddress
from router.service.auth import TOKENS
from router.service.webhooks import WEBHOOKS, Webhooks

log = structlog.get_logger("router.http.integrations")

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def webhook_out(w: Webhook) -> WebhookOut:
    return WebhookOut(
        id=str(w.id), url=w.url, events=w.events, description=w.description, created_at=w.created_at
    )


def delivery_out(d: DeliveryInfo) -> DeliveryOut:
    return DeliveryOut(
        event_id=d.event_id,
        type=d.type,
        status=d.status,  # the table's CHECK holds it to the three values
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        last_status=d.last_status,
        last_error=d.last_error,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


class Integrations:
    def __init__(self, app: web.Application) -> None:
        self.app = app

    def routes(self) -> list[web.RouteDef]:
        return route_defs(INTEGRATION_ROUTES, lambda name: getattr(self, name))

    @property
    def namespace(self) -> str:
        """The routing domain this process serves: its webhooks are the only ones seen here."""
        return self.app[ENGINE].namespace

    @property
    def webhooks(self) -> Webhooks:
        return self.app[WEBHOOKS]

    async def _admin(self, request: web.Request) -> None:
        principal = await auth.authenticate(request, self.app[TOKENS], Role.admin)
        structlog.contextvars.bind_contextvars(role=principal.role.value)

    async def _webhook(self, request: web.Request) -> uuid.UUID:
        webhook_id = parse_uuid(request.match_info["id"])
        if webhook_id is None or await store.get(self.app[POOL], self.namespace, webhook_id) is None:
            raise NotFound(f"webhook {request.match_info['id']} not found")
        return webhook_id

    async def post_webhook(self, request: web.Request) -> web.Response:
        await self._admin(request)
        win = await body(request, WebhookIn)
        try:
            await self.webhooks.check_url(win.url)
        except UnsafeAddress as exc:
            raise BadRequest(str(exc), errors=[{"loc": ["url"], "msg": str(exc)}]) from exc
        secret = (
            win.secret.get_secret_value() if win.secret is not None else "whsec_" + secrets.token_urlsafe(32)
        )
        stored = await store.insert(
            self.app[POOL], self.namespace, win.url, win.events, secret, win.description
        )
        log.info("webhook.created", webhook_id=str(stored.id), events=stored.events)
        self.webhooks.subscribed()
        return ok(WebhookCreated(**webhook_out(stored).model_dump(), secret=secret), 201)

    async def list_webhooks(self, request: web.Request) -> web.Response:
        await self._admin(request)
        return ok([webhook_out(w) for w in await store.all_webhooks(self.app[POOL], self.namespace)])

    async def delete_webhook(self, request: web.Request) -> web.Response:
        await self._admin(request)
        webhook_id = parse_uuid(request.match_info["id"])
        if webhook_id is None or not await store.delete(self.app[POOL], self.namespace, webhook_id):
            raise NotFound(f"webhook {request.match_info['id']} not found")
        log.info("webhook.deleted", webhook_id=str(webhook_id))
        return web.Response(status=204)

    async def list_deliveries(self, request: web.Request) -> web.Response:
        await self._admin(request)
        after, status, limit = _delivery_query(request)
        webhook_id = await self._webhook(request)
        found = await store.deliveries(self.app[POOL], webhook_id, after, status, limit)
        return ok([delivery_out(d) for d in found])

    async def replay_webhook(self, request: web.Request) -> web.Response:
        await self._admin(request)
        rin = await body(request, ReplayIn)
        webhook_id = await self._webhook(request)
        count = await store.replay(
            self.app[POOL], webhook_id, parse_event_id(rin.after), self.webhooks.settings.retry_for_seconds
        )
        log.info("webhook.replay", webhook_id=str(webhook_id), after=rin.after, replayed=count)
        return ok(ReplayOut(replayed=count))

    async def asyncapi(self, request: web.Request) -> web.Response:
        return web.json_response(asyncapi_document())


def _delivery_query(request: web.Request) -> tuple[tuple[int, int], str | None, int]:
    q = request.query
    errors = []
    after = (0, 0)
    if "after" in q:
        if re.match(EVENT_ID_PATTERN, q["after"]):
            after = parse_event_id(q["after"])
        else:
            errors.append({"loc": ["after"], "msg": "an event id is <ms>-<seq>"})
    status = q.get("status")
    if status is not None and status not in DELIVERY_STATUSES:
        errors.append({"loc": ["status"], "msg": f"one of {', '.join(DELIVERY_STATUSES)}"})
    limit = DEFAULT_LIMIT
    if "limit" in q:
        if q["limit"].isdigit() and 1 <= int(q["limit"]) <= MAX_LIMIT:
            limit = int(q["limit"])
        else:
            errors.append({"loc": ["limit"], "msg": f"an integer from 1 to {MAX_LIMIT}"})
    if errors:
        raise BadRequest(f"{len(errors)} invalid query parameter(s)", errors=errors)
    return after, status, limit
