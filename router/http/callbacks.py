"""Callbacks over HTTP: ``POST /v1/interactions/{id}/callback`` (``CALLBACK_ROUTES`` in the route table)."""

from __future__ import annotations

from aiohttp import web

from router.contracts import Role
from router.contracts.callbacks import CallbackIn
from router.http.common import body, ok
from router.http.routes import CALLBACK_ROUTES, route_defs
from router.service import auth
from router.service.auth import TOKENS
from router.service.callbacks import CALLBACKS


class CallbackAPI:
    def __init__(self, app: web.Application) -> None:
        self.app = app

    def routes(self) -> list[web.RouteDef]:
        return route_defs(CALLBACK_ROUTES, lambda name: getattr(self, name))

    async def post_callback(self, request: web.Request) -> web.Response:
        await auth.authenticate(request, self.app[TOKENS], Role.adapter)
        cin = await body(request, CallbackIn)
        return ok(await self.app[CALLBACKS].request(request.match_info["id"], cin))
