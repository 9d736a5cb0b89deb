"""The HTTP API (v1). Bodies are validated by the pydantic contracts; every error is
``application/problem+json``; each route names the roles it admits."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import redis.exceptions
import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from context_store import config as cstore_config
from context_store import customers as cstore
from context_store import interactions as istore
from context_store.db import q
from router.contracts import (
    ID_PATTERN,
    AgentConfig,
    AgentLive,
    AgentOut,
    ContextRecord,
    EndIn,
    InboundEvent,
    InteractionOut,
    InteractionStatus,
    JourneyEventIn,
    MessageIn,
    MessageStatusIn,
    QueueConfig,
    QueueOut,
    Role,
    RulesIn,
    TokenIn,
    TokenOut,
)
from router.errors import BadRequest, Forbidden, NotFound, OmnirouteError
from router.http import auth
from router.http.openapi import openapi_document
from router.http.routes import HTTP_ROUTES, route_defs
from router.realtime.hub import Hub, interaction_out
from router.routing import directory, stats
from router.routing.events import jsonable, publish_message_status
from router.service import ingest
from router.state import Principal, Runtime

log = structlog.get_logger("router.http.api")

M = TypeVar("M", bound=BaseModel)

RUNTIME = web.AppKey("runtime", Runtime)
HUB = web.AppKey("hub", Hub)
TOKENS = web.AppKey("tokens", auth.TokenCache)


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    code: str | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": f"https://omniroute.dev/problems/{code}" if code else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return web.Response(text=json.dumps(body), status=status, content_type="application/problem+json")


@web.middleware
async def problem_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except OmnirouteError as exc:
        return problem(exc.status, exc.title, exc.detail, exc.errors, exc.code)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(
            exc.status, exc.reason, exc.text if exc.text != f"{exc.status}: {exc.reason}" else None
        )
    except (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        asyncpg.InterfaceError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    ) as exc:
        log.warning("http.backend_unavailable", error=type(exc).__name__, path=request.path)
        return problem(
            503,
            "A backing service is unavailable",
            f"{type(exc).__name__}; retry shortly",
            code="unavailable",
        )
    except Exception:  # last resort: never an HTML page or a trace to the client; it is logged with its trace
        log.exception("http.unhandled", path=request.path)
        return problem(500, "Internal error", "the error was logged", code="internal")


async def body(request: web.Request, model: type[M]) -> M:
    raw = await request.read()
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errs = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise BadRequest(f"{len(errs)} invalid field(s)", errors=errs) from exc


def ok(model: BaseModel | list[Any] | dict[str, Any], status: int = 200) -> web.Response:
    if isinstance(model, BaseModel):
        text = model.model_dump_json(by_alias=True)
    else:
        text = json.dumps(
            [m.model_dump(mode="json") if isinstance(m, BaseModel) else m for m in model]
            if isinstance(model, list)
            else model,
            default=str,
        )
    return web.Response(text=text, status=status, content_type="application/json")


class API:
    """Handlers bound to an application; its runtime exists once the app has started."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    @property
    def rt(self) -> Runtime:
        return self.app[RUNTIME]

    @property
    def hub(self) -> Hub:
        return self.app[HUB]

    @property
    def tokens(self) -> auth.TokenCache:
        return self.app[TOKENS]

    async def who(self, request: web.Request, *roles: Role) -> Principal:
        principal = await auth.authenticate(request, self.rt, self.tokens, *roles)
        structlog.contextvars.bind_contextvars(role=principal.role.value)
        return principal

    def routes(self) -> list[web.RouteDef]:
        """The HTTP routes of the route table (``router.http.routes``), bound to this API's handlers."""
        return route_defs(HTTP_ROUTES, lambda name: getattr(self, name))

    # ------------------------------------------------------------ interactions

    async def post_interaction(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        started = time.perf_counter()
        ev = await body(request, InboundEvent)
        structlog.contextvars.bind_contextvars(channel=ev.channel.value)
        result = await ingest.ingest(self.rt, ev)
        self.rt.metrics.observe("ingest", time.perf_counter() - started)
        return ok(result, 201 if result.created else 200)

    async def _interaction_for(self, request: web.Request, principal: Principal) -> dict[str, Any]:
        iid = cstore.parse_uuid(request.match_info["id"])
        row = await istore.get_interaction(self.rt.pool, iid, full=True) if iid else None
        if row is None:
            raise NotFound(f"interaction {request.match_info['id']} not found")
        if principal.role == Role.agent and not await self._agent_may_see(principal, str(row["customer_id"])):
            raise Forbidden("agents see only the customers they are serving")
        return row

    async def _agent_may_see(self, principal: Principal, customer_id: str) -> bool:
        assert principal.agent_id is not None
        if await self.rt.pool.fetchval(
            q("agent_serves_customer"), principal.agent_id, cstore.parse_uuid(customer_id)
        ):
            return True
        offers = await self.rt.engine.agent_offers(principal.agent_id)
        if not offers:
            return False
        rows = await self.rt.pool.fetch(
            q("interaction_customers"), [cstore.parse_uuid(o["i"]) for o in offers]
        )
        return any(str(r["customer_id"]) == customer_id for r in rows)

    async def find_interaction(self, request: web.Request) -> web.Response:
        """An interaction by its provider id: ``?channel=voice&external_id=CA…`` (a stateless adapter finds
        the call a status callback is about)."""
        await self.who(request, Role.adapter, Role.supervisor)
        channel, external_id = request.query.get("channel"), request.query.get("external_id")
        if not channel or not external_id:
            raise BadRequest(
                "give channel and external_id",
                errors=[{"loc": ["query"], "msg": "channel and external_id are required"}],
            )
        iid = await self.rt.pool.fetchval(q("interaction_by_external"), channel, external_id)
        if iid is None:
            raise NotFound(f"no {channel} interaction with external id {external_id}")
        row = await istore.get_interaction(self.rt.pool, iid, full=True)
        assert row is not None
        return ok(await self._live_view(row))

    async def _live_view(self, row: dict[str, Any]) -> InteractionOut:
        out = interaction_out(row)
        if row["status"] == InteractionStatus.transferred:
            live = await self.rt.pool.fetchval(q("live_interaction_in_conversation"), row["conversation_id"])
            out.live_id = str(live) if live else None
        if row["status"] == InteractionStatus.queued:
            out.position, out.estimated_wait_seconds = await ingest.live_position(self.rt, row)
        if row["agent_id"] and row["agent_id"] in self.rt.agents:
            out.agent_address = self.rt.agents[row["agent_id"]].address or f"client:{row['agent_id']}"
        return out

    async def get_interaction(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.adapter, Role.supervisor, Role.agent)
        row = await self._interaction_for(request, principal)
        return ok(await self._live_view(row))

    async def post_message(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.adapter, Role.agent)
        msg = await body(request, MessageIn)
        if principal.role == Role.agent:
            msg = msg.model_copy(update={"direction": "outbound", "agent_id": principal.agent_id})
            row = await self._interaction_for(request, principal)
            if row["agent_id"] != principal.agent_id:
                raise Forbidden("only the agent holding the interaction writes in it")
        message, created = await ingest.add_message(self.rt, request.match_info["id"], msg)
        return ok(jsonable(message), 201 if created else 200)

    async def post_end(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        reason = (await body(request, EndIn)) if request.can_read_body else EndIn()
        row = await ingest.customer_end(self.rt, request.match_info["id"], reason.reason)
        return ok(interaction_out(row))

    # ------------------------------------------------------------ customers

    async def get_context(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.supervisor, Role.agent)
        customer_id = request.match_info["id"]
        if cstore.parse_uuid(customer_id) is None:
            raise NotFound(f"customer {customer_id} not found")
        if principal.role == Role.agent and not await self._agent_may_see(principal, customer_id):
            raise Forbidden("agents see only the customers they are serving")
        record = await cstore.context_record(self.rt.pool, customer_id)
        if record is None:
            raise NotFound(f"customer {customer_id} not found")
        return ok(ContextRecord.model_validate(record))

    async def post_customer_event(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        customer_id = request.match_info["id"]
        ev = await body(request, JourneyEventIn)
        uid = cstore.parse_uuid(customer_id)
        if uid is None or await cstore.get_customer(self.rt.pool, customer_id) is None:
            raise NotFound(f"customer {customer_id} not found")
        row = await cstore.add_journey_event(self.rt.pool, uid, ev.type, ev.data, at=ev.at)
        return ok(jsonable(row), 201)

    # ------------------------------------------------------------ directory

    async def list_queues(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor, Role.agent, Role.adapter)
        day = await stats.day_counts(self.rt)
        out = [
            QueueOut(id=qid, stats=await stats.queue_stats(self.rt, qid, day.get(qid)), **cfg.model_dump())
            for qid, cfg in sorted(self.rt.queues.items())
        ]
        return ok(out)

    async def get_queue(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor, Role.agent, Role.adapter)
        qid = request.match_info["id"]
        cfg = self.rt.queues.get(qid)
        if cfg is None:
            raise NotFound(f"queue {qid} not found")
        day = await stats.day_counts(self.rt)
        return ok(
            QueueOut(id=qid, stats=await stats.queue_stats(self.rt, qid, day.get(qid)), **cfg.model_dump())
        )

    async def put_queue(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        qid = _ident(request.match_info["id"])
        cfg = await body(request, QueueConfig)
        created = qid not in self.rt.queues
        await directory.put_queue(self.rt, qid, cfg)
        return ok(QueueOut(id=qid, **cfg.model_dump()), 201 if created else 200)

    async def _agent_out(self, agent_id: str, cfg: AgentConfig) -> AgentOut:
        live = await self.rt.engine.agent_live(agent_id)
        cap = cfg.full_capacity()
        return AgentOut(
            id=agent_id,
            name=cfg.name,
            skills=dict(cfg.skills),
            capacity=cap,
            voice_blocks_other_channels=cfg.voice_blocks_other_channels,
            address=cfg.address,
            live=AgentLive(
                state=live.get("state", "offline"),
                connected=live.get("connected") == "1",
                state_since=float(live["since"]) / 1000 if live.get("since") else None,
                load={ch: int(live.get(f"load:{ch}", 0)) for ch in cap},
            ),
        )

    async def list_agents(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor)
        return ok([await self._agent_out(a, cfg) for a, cfg in sorted(self.rt.agents.items())])

    async def get_agent(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.supervisor, Role.agent)
        agent_id = request.match_info["id"]
        if principal.role == Role.agent and principal.agent_id != agent_id:
            raise Forbidden("an agent token reads only its own agent")
        cfg = self.rt.agents.get(agent_id)
        if cfg is None:
            raise NotFound(f"agent {agent_id} not found")
        return ok(await self._agent_out(agent_id, cfg))

    async def put_agent(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        agent_id = _ident(request.match_info["id"])
        cfg = await body(request, AgentConfig)
        created = agent_id not in self.rt.agents
        await directory.put_agent(self.rt, agent_id, cfg)
        return ok(await self._agent_out(agent_id, cfg), 201 if created else 200)

    async def get_rules(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor)
        return ok(self.rt.rules)

    async def put_rules(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        rules = (await body(request, RulesIn)).rules
        unknown = [r.queue for r in rules if r.queue not in self.rt.queues]
        if unknown:
            raise BadRequest(f"rules name unknown queues: {', '.join(unknown)}")
        await cstore_config.replace_rules(self.rt.pool, [r.model_dump(mode="json") for r in rules])
        await directory.reload(self.rt)
        await directory.announce_change(self.rt)
        return ok(rules)

    async def post_token(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        tin = await body(request, TokenIn)
        if (tin.role == Role.agent) != (tin.agent_id is not None):
            raise BadRequest(
                "agent_id is required for an agent token and only for it",
                errors=[{"loc": ["agent_id"], "msg": "required with role agent, else forbidden"}],
            )
        if tin.agent_id is not None and tin.agent_id not in self.rt.agents:
            raise BadRequest(
                f"unknown agent {tin.agent_id!r}", errors=[{"loc": ["agent_id"], "msg": "unknown"}]
            )
        token = auth.new_token()
        await cstore_config.insert_token(
            self.rt.pool, auth.hash_token(token), tin.role.value, tin.agent_id, tin.name
        )
        log.info("token.created", token_role=tin.role.value, agent_id=tin.agent_id)
        return ok(TokenOut(token=token, role=tin.role, agent_id=tin.agent_id), 201)

    # ------------------------------------------------------------ message receipts

    async def post_message_status(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        st = await body(request, MessageStatusIn)
        mid = cstore.parse_uuid(request.match_info["id"])
        row = (
            await self.rt.pool.fetchrow(q("message_set_status"), mid, st.status, st.detail, st.external_id)
            if mid
            else None
        )
        if row is None:
            raise NotFound(f"message {request.match_info['id']} not found")
        await publish_message_status(self.rt, row, row["status"], st.detail)
        return ok({"id": str(row["id"]), "status": row["status"]})

    async def post_status_by_external(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        st = await body(request, MessageStatusIn)
        if not st.external_id:
            raise BadRequest("external_id is required", errors=[{"loc": ["external_id"], "msg": "required"}])
        rows = await self.rt.pool.fetch(q("message_status_by_external"), st.external_id, st.status, st.detail)
        for row in rows:
            await publish_message_status(self.rt, row, row["status"], st.detail)
        return ok({"updated": len(rows)})

    # ------------------------------------------------------------ operations

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    async def healthz(self, request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            await self.rt.pool.fetchval("SELECT 1")
            checks["postgres"] = "ok"
        except Exception as exc:  # reported, not raised: this is the health report
            checks["postgres"] = f"error: {type(exc).__name__}"
        try:
            await self.rt.redis.ping()
            checks["redis"] = "ok"
            checks["index"] = "ready" if await self.rt.engine.is_built() else "rebuilding"
        except Exception as exc:  # reported, not raised: this is the health report
            checks["redis"] = f"error: {type(exc).__name__}"
        healthy = checks.get("postgres") == "ok" and checks.get("redis") == "ok"
        return web.json_response(
            {"status": "ok" if healthy else "unhealthy", "checks": checks}, status=200 if healthy else 503
        )

    async def metrics(self, request: web.Request) -> web.Response:
        gauges: dict[str, list[tuple[dict[str, str], float]]] = {
            "queue_waiting": [],
            "queue_oldest_wait_seconds": [],
            "agents_connected": [],
            "sockets_open": [({"node": self.rt.node_id}, float(len(self.hub.all_sockets)))],
        }
        for qid in sorted(self.rt.queues):
            st = await stats.queue_stats(self.rt, qid)
            gauges["queue_waiting"].append(({"queue": qid}, st.waiting))
            gauges["queue_oldest_wait_seconds"].append(({"queue": qid}, st.oldest_wait_seconds))
        gauges["agents_connected"].append(
            ({}, float(await self.rt.redis.scard(self.rt.engine.keys.connected)))
        )
        return web.Response(text=self.rt.metrics.render(gauges), content_type="text/plain")


def _ident(value: str) -> str:
    if not re.match(ID_PATTERN, value):
        raise BadRequest(
            "ids are letters, digits, _ . - (at most 64)", errors=[{"loc": ["id"], "msg": "invalid id"}]
        )
    return value
