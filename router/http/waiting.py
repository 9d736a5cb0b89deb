"""HTTP handler of the customer's wait: ``PATCH /v1/interactions/{id}`` (a bot adds what it collected while
the customer waited, and may move the interaction to another queue at its place). ``router.http.api.API``
takes it in; the route table (``router.http.routes``) names it."""

from __future__ import annotations

import structlog
from aiohttp import web

from context_store import interactions
from context_store.db import parse_uuid
from router.backends import POOL
from router.contracts import InteractionStatus, Role
from router.contracts.waiting import InteractionPatch
from router.errors import NotFound
from router.http.common import body, ok
from router.realtime.hub import interaction_out
from router.routing.directory import DIRECTORY
from router.routing.engine import ENGINE
from router.service import auth
from router.service.auth import TOKENS
from router.service.ingest import INGEST
from router.service.waiting import Waiting


class WaitingHandlers:
    """The waiting routes; mixed into ``API``, whose ``app`` holds the services."""

    app: web.Application

    async def patch_interaction(self, request: web.Request) -> web.Response:
        principal = await auth.authenticate(request, self.app[TOKENS], Role.adapter)
        structlog.contextvars.bind_contextvars(role=principal.role.value)
        change = await body(request, InteractionPatch)
        pool, engine = self.app[POOL], self.app[ENGINE]
        await Waiting(pool, engine, self.app[DIRECTORY]).patch(request.match_info["id"], change)
        iid = parse_uuid(request.match_info["id"])
        detail = await interactions.get_detail(pool, engine.namespace, iid) if iid else None
        if detail is None:
            raise NotFound(f"interaction {request.match_info['id']} not found")
        out = interaction_out(detail.interaction, detail)
        if detail.interaction.status == InteractionStatus.queued:
            out.position, est = await self.app[INGEST].live_position(detail.interaction)
            out.estimated_wait_seconds = est.seconds if est else None
            out.estimated_wait_range = list(est.range) if est else None
        return ok(out)
