"""The consent ledger over HTTP: ``GET /v1/customers/{id}/consent`` and
``PUT /v1/customers/{id}/consent/{channel}`` (entries of ``CONSENT_ROUTES`` in the route table)."""

from __future__ import annotations

import uuid

import asyncpg
import structlog
from aiohttp import web

from context_store import consent as ledger
from context_store import customers
from context_store.db import parse_uuid
from context_store.records import ConsentEvent
from router.backends import POOL
from router.config import SETTINGS
from router.contracts import Role
from router.contracts.consent import CONSENT_CHANNELS, ConsentEntry, ConsentIn, ConsentOut
from router.errors import BadRequest, NotFound
from router.http.common import body, ok
from router.http.routes import CONSENT_ROUTES, route_defs
from router.routing.engine import ENGINE
from router.service import auth
from router.service.auth import TOKENS, Principal
from router.service.campaigns import CAMPAIGNS
from router.service.consent import record_consent

log = structlog.get_logger("router.http.consent")


def entry(e: ConsentEvent) -> ConsentEntry:
    return ConsentEntry(
        channel=e.channel,
        purpose=e.purpose,
        status=e.status,  # the table's CHECK holds it to the two values
        source=e.source,
        evidence=e.evidence,
        actor=e.actor,
        at=e.created_at,
    )


def actor(principal: Principal) -> str:
    """Who made a change, as the ledger records it: the role, and the token's id or the agent."""
    who = principal.token_id or principal.agent_id
    return f"{principal.role.value}:{who}" if who else principal.role.value


async def ledger_out(pool: asyncpg.Pool, customer_id: uuid.UUID, require_opt_in: list[str]) -> ConsentOut:
    return ConsentOut(
        customer_id=str(customer_id),
        current=[entry(e) for e in await ledger.current(pool, customer_id)],
        history=[entry(e) for e in await ledger.history(pool, customer_id)],
        require_opt_in=require_opt_in,
    )


class ConsentAPI:
    def __init__(self, app: web.Application) -> None:
        self.app = app

    def routes(self) -> list[web.RouteDef]:
        return route_defs(CONSENT_ROUTES, lambda name: getattr(self, name))

    async def _customer(self, request: web.Request) -> uuid.UUID:
        customer_id = parse_uuid(request.match_info["id"])
        if customer_id is None or await customers.get(self.app[POOL], customer_id) is None:
            raise NotFound(f"customer {request.match_info['id']} not found")
        return customer_id

    @property
    def require_opt_in(self) -> list[str]:
        return list(self.app[SETTINGS].file.outbound.require_opt_in)

    async def get_consent(self, request: web.Request) -> web.Response:
        await auth.authenticate(request, self.app[TOKENS], Role.supervisor, Role.adapter)
        customer_id = await self._customer(request)
        return ok(await ledger_out(self.app[POOL], customer_id, self.require_opt_in))

    async def put_consent(self, request: web.Request) -> web.Response:
        principal = await auth.authenticate(request, self.app[TOKENS], Role.supervisor, Role.adapter)
        channel = request.match_info["channel"]
        cin = await body(request, ConsentIn)
        if channel not in CONSENT_CHANNELS:
            raise BadRequest(
                f"consent is kept for {', '.join(CONSENT_CHANNELS)}",
                errors=[{"loc": ["channel"], "msg": f"one of {', '.join(CONSENT_CHANNELS)}"}],
            )
        customer_id = await self._customer(request)
        await record_consent(
            self.app[POOL],
            self.app[ENGINE],
            customer_id,
            channel,
            cin.purpose,
            cin.status,
            cin.source,
            cin.evidence,
            actor(principal),
        )
        if cin.status == "opted_out":
            await self.app[CAMPAIGNS].opted_out(customer_id, [cin.purpose])
        return ok(await ledger_out(self.app[POOL], customer_id, self.require_opt_in))
