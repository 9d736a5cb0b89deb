"""Customers' contact preferences and campaigns over HTTP (entries of ``CAMPAIGN_ROUTES`` in the route
table): ``GET|PATCH /v1/customers/{id}``, ``/v1/campaigns``."""

from __future__ import annotations

import uuid

from aiohttp import web

from context_store.db import parse_uuid
from router.backends import POOL
from router.contracts import Role
from router.contracts.campaigns import OUTCOMES, CampaignIn, PreferencesIn
from router.errors import BadRequest, NotFound
from router.http.common import body, ok
from router.http.consent import actor
from router.http.routes import CAMPAIGN_ROUTES, route_defs
from router.service import auth, preferences
from router.service.auth import TOKENS
from router.service.campaigns import CAMPAIGNS


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadRequest(
            f"{name} must be an integer from {low} to {high}",
            errors=[{"loc": ["query", name], "msg": f"an integer from {low} to {high}"}],
        )
    return value


class CampaignsAPI:
    def __init__(self, app: web.Application) -> None:
        self.app = app

    def routes(self) -> list[web.RouteDef]:
        return route_defs(CAMPAIGN_ROUTES, lambda name: getattr(self, name))

    @staticmethod
    def _customer_id(request: web.Request) -> uuid.UUID:
        customer_id = parse_uuid(request.match_info["id"])
        if customer_id is None:
            raise NotFound(f"customer {request.match_info['id']} not found")
        return customer_id

    async def get_customer(self, request: web.Request) -> web.Response:
        await auth.authenticate(request, self.app[TOKENS], Role.supervisor)
        return ok(await preferences.read(self.app[POOL], self._customer_id(request)))

    async def patch_customer(self, request: web.Request) -> web.Response:
        principal = await auth.authenticate(request, self.app[TOKENS], Role.supervisor)
        change = await body(request, PreferencesIn)
        customer_id = self._customer_id(request)
        return ok(await preferences.update(self.app[POOL], customer_id, change, actor(principal)))

    async def post_campaign(self, request: web.Request) -> web.Response:
        principal = await auth.authenticate(request, self.app[TOKENS], Role.supervisor)
        cin = await body(request, CampaignIn)
        return ok(await self.app[CAMPAIGNS].create(cin, actor(principal)), status=201)

    async def get_campaign(self, request: web.Request) -> web.Response:
        await auth.authenticate(request, self.app[TOKENS], Role.supervisor)
        return ok(await self.app[CAMPAIGNS].get(request.match_info["id"]))

    async def _action(self, request: web.Request, action: str) -> web.Response:
        await auth.authenticate(request, self.app[TOKENS], Role.supervisor)
        return ok(await self.app[CAMPAIGNS].transition(request.match_info["id"], action))

    async def start_campaign(self, request: web.Request) -> web.Response:
        return await self._action(request, "start")

    async def pause_campaign(self, request: web.Request) -> web.Response:
        return await self._action(request, "pause")

    async def cancel_campaign(self, request: web.Request) -> web.Response:
        return await self._action(request, "cancel")

    async def get_campaign_recipients(self, request: web.Request) -> web.Response:
        await auth.authenticate(request, self.app[TOKENS], Role.supervisor)
        status = request.query.get("status")
        if status is not None and status not in OUTCOMES:
            raise BadRequest(
                "unknown status",
                errors=[{"loc": ["query", "status"], "msg": f"one of {', '.join(OUTCOMES)}"}],
            )
        limit = _int(request, "limit", 100, 1, 1000)
        offset = _int(request, "offset", 0, 0, 10_000_000)
        return ok(await self.app[CAMPAIGNS].recipients(request.match_info["id"], status, limit, offset))
