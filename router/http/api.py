"""The HTTP API (v1). Bodies are validated by the pydantic contracts; every error is
``application/problem+json``; each route names the roles it admits."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from context_store import customers, interactions, journey, messages, privacy, quality, routing
from context_store import tokens as token_store
from context_store.db import parse_uuid, ping
from context_store.errors import Duplicate, RecordNotFound
from context_store.records import InteractionDetail, TokenInfo
from router.backends import POOL, UNAVAILABLE
from router.config import SETTINGS
from router.contracts import (
    ID_PATTERN,
    AgentConfig,
    AgentLive,
    AgentOut,
    Channel,
    ChannelInfo,
    ContextRecord,
    CustomerExport,
    EndIn,
    ErasureOut,
    IdentityJourneyEventIn,
    InboundEvent,
    InteractionOut,
    InteractionStatus,
    JourneyEventIn,
    JourneyEventOut,
    JourneyEventRecorded,
    MergeIn,
    MessageIn,
    MessageStatusIn,
    Meta,
    QueueConfig,
    QueueOut,
    ReviewSummary,
    Role,
    RoutingDecision,
    RoutingJourney,
    RulesIn,
    SurveyIn,
    SurveyKind,
    SurveyOut,
    TokenIn,
    TokenInfoOut,
    TokenOut,
    TokenState,
    UnmergeIn,
    unstorable_path,
)
from router.errors import BadRequest, Conflict, Forbidden, NotFound, OmnirouteError
from router.http.common import body, ok
from router.http.forecast import ForecastHandlers
from router.http.openapi import openapi_document
from router.http.quality import QualityHandlers
from router.http.routes import HTTP_ROUTES, route_defs
from router.http.waiting import WaitingHandlers
from router.metrics import CONTENT_TYPE, METRICS, METRICS_LEASE_MS, Deployment, Metrics, QueueToday
from router.node import NODE, Node
from router.realtime.hub import HUB, Hub, interaction_out
from router.routing.directory import DIRECTORY, Directory
from router.routing.engine import ENGINE, Engine
from router.routing.events import forget, jsonable, publish, publish_message_status
from router.routing.stats import STATS, Statistics
from router.service import auth, merges
from router.service.auth import TOKENS, Principal
from router.service.ingest import INGEST, Ingest
from router.service.presence import PRESENCE
from router.service.reports import REPORTS, kpi_csv, parse_query
from router.service.surveys import SURVEYS
from router.service.waiting import hours_now

log = structlog.get_logger("router.http.api")


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


BACKEND_RETRY_AFTER = "1"
"""The ``Retry-After`` (seconds) of a 503 whose cause is a backing service: PostgreSQL or Redis unreachable,
or PostgreSQL out of connections. Nothing was changed; the client tries again (the adapters do)."""


@web.middleware
async def problem_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except OmnirouteError as exc:
        response = problem(exc.status, exc.title, exc.detail, exc.errors, exc.code)
        if exc.status == 503:
            response.headers["Retry-After"] = BACKEND_RETRY_AFTER
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = problem(
            exc.status, exc.reason, exc.text if exc.text != f"{exc.status}: {exc.reason}" else None
        )
        if "Allow" in exc.headers:  # a 405 says which methods the resource takes
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except UNAVAILABLE as exc:
        log.warning("http.backend_unavailable", error=type(exc).__name__, path=request.path)
        response = problem(
            503,
            "A backing service is unavailable",
            f"{type(exc).__name__}; retry shortly",
            code="unavailable",
        )
        response.headers["Retry-After"] = BACKEND_RETRY_AFTER
        return response
    except Exception:  # last resort: never an HTML page or a trace to the client; it is logged with its trace
        log.exception("http.unhandled", path=request.path)
        return problem(500, "Internal error", "the error was logged", code="internal")


def token_info_out(t: TokenInfo, now: datetime) -> TokenInfoOut:
    """A stored token as listed: what it is and whether it works, never its secret nor its hash."""
    if t.revoked_at is not None:
        state = TokenState.revoked
    elif t.expires_at is not None and t.expires_at <= now:
        state = TokenState.expired
    else:
        state = TokenState.active
    return TokenInfoOut(
        id=str(t.id),
        role=Role(t.role),
        agent_id=t.agent_id,
        name=t.name,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        state=state,
        source="file" if t.source == "file" else "api",
    )


def _query_time(request: web.Request, name: str) -> datetime | None:
    """A query parameter that is an ISO 8601 time with a zone, or None when it is absent."""
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise BadRequest(
            f"{name} is an ISO 8601 time with a zone, as in 2026-01-31T09:00:00Z",
            errors=[{"loc": ["query", name], "msg": "not an ISO 8601 time with a zone"}],
        )
    return at


class API(QualityHandlers, WaitingHandlers, ForecastHandlers):
    """Handlers bound to an application; the services they use exist once the app has started."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[POOL]

    @property
    def engine(self) -> Engine:
        return self.app[ENGINE]

    @property
    def directory(self) -> Directory:
        return self.app[DIRECTORY]

    @property
    def stats(self) -> Statistics:
        return self.app[STATS]

    @property
    def ingest(self) -> Ingest:
        return self.app[INGEST]

    @property
    def counters(self) -> Metrics:
        return self.app[METRICS]

    @property
    def node(self) -> Node:
        return self.app[NODE]

    @property
    def hub(self) -> Hub:
        return self.app[HUB]

    @property
    def tokens(self) -> auth.TokenCache:
        return self.app[TOKENS]

    async def who(self, request: web.Request, *roles: Role) -> Principal:
        principal = await auth.authenticate(request, self.tokens, *roles)
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
        result = await self.ingest.ingest(ev)
        self.counters.observe("ingest", time.perf_counter() - started)
        return ok(result, 201 if result.created else 200)

    async def _interaction_for(self, request: web.Request, principal: Principal) -> InteractionDetail:
        iid = parse_uuid(request.match_info["id"])
        detail = await interactions.get_detail(self.pool, self.engine.namespace, iid) if iid else None
        if detail is None:
            raise NotFound(f"interaction {request.match_info['id']} not found")
        if principal.role == Role.agent and not await self._agent_may_see(
            principal, detail.interaction.customer_id
        ):
            raise Forbidden("agents see only the customers they are serving")
        return detail

    async def _agent_may_see(self, principal: Principal, customer_id: uuid.UUID) -> bool:
        assert principal.agent_id is not None
        if await interactions.agent_serves_customer(
            self.pool, self.engine.namespace, principal.agent_id, customer_id
        ):
            return True
        offers = await self.engine.agent_offers(principal.agent_id)
        if not offers:
            return False
        offered = [iid for iid in (parse_uuid(o["i"]) for o in offers) if iid is not None]
        return customer_id in await interactions.customer_ids(self.pool, self.engine.namespace, offered)

    async def find_interaction(self, request: web.Request) -> web.Response:
        """An interaction by its provider id: ``?channel=voice&external_id=CA…`` (a stateless adapter finds
        the call a status callback is about)."""
        principal = await self.who(request, Role.adapter, Role.supervisor)
        if "status" in request.query:
            return await self.live_interactions(request, principal)
        channel, external_id = request.query.get("channel"), request.query.get("external_id")
        if not channel or not external_id:
            raise BadRequest(
                "give channel and external_id",
                errors=[{"loc": ["query"], "msg": "channel and external_id are required"}],
            )
        for name, value in (("channel", channel), ("external_id", external_id)):
            if unstorable_path(value) is not None:
                raise BadRequest(
                    f"{name} contains NUL or a lone surrogate",
                    errors=[{"loc": ["query", name], "msg": "must not contain NUL or a lone surrogate"}],
                )
        iid = await interactions.id_by_external(self.pool, self.engine.namespace, channel, external_id)
        if iid is None:
            raise NotFound(f"no {channel} interaction with external id {external_id}")
        detail = await interactions.get_detail(self.pool, self.engine.namespace, iid)
        assert detail is not None
        return ok(await self._live_view(detail))

    async def _live_view(self, detail: InteractionDetail) -> InteractionOut:
        it = detail.interaction
        out = interaction_out(it, detail)
        if it.status == InteractionStatus.transferred:
            live = await interactions.live_in_conversation(
                self.pool, self.engine.namespace, it.conversation_id
            )
            out.live_id = str(live) if live else None
        if it.status == InteractionStatus.queued:
            out.position, est = await self.ingest.live_position(it)
            out.estimated_wait_seconds = est.seconds if est else None
            out.estimated_wait_range = list(est.range) if est else None
        if it.agent_id and it.agent_id in self.directory.agents:
            out.agent_address = self.directory.agents[it.agent_id].address or f"client:{it.agent_id}"
        return out

    async def get_interaction(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.adapter, Role.supervisor, Role.agent)
        detail = await self._interaction_for(request, principal)
        out = await self._live_view(detail)
        found = await quality.reviews_of_interaction(self.pool, self.engine.namespace, detail.interaction.id)
        out.reviews = [
            ReviewSummary(
                id=str(r.id),
                form_id=r.form_id,
                score=r.score,
                critical_failed=r.critical_failed,
                created_at=r.created_at,
            )
            for r in found
        ]
        return ok(out)

    async def get_routing(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.supervisor, Role.agent)
        detail = await self._interaction_for(request, principal)
        iid = detail.interaction.id
        return ok(
            RoutingJourney(
                interaction_id=str(iid),
                decisions=[
                    RoutingDecision(at=d.at, kind=d.kind, agent_id=d.agent_id, detail=d.detail)
                    for d in await routing.decisions(self.pool, iid)
                ],
            )
        )

    async def post_message(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.adapter, Role.agent)
        msg = await body(request, MessageIn)
        held_by = None
        if principal.role == Role.agent:
            # an agent writes only into work it holds now: not into one it transferred or finished
            msg = msg.model_copy(update={"direction": "outbound", "agent_id": principal.agent_id})
            await self._interaction_for(request, principal)
            held_by = principal.agent_id
        message, created = await self.ingest.add_message(request.match_info["id"], msg, held_by=held_by)
        return ok(jsonable(message), 201 if created else 200)

    async def post_end(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        reason = (await body(request, EndIn)) if request.can_read_body else EndIn()
        it = await self.ingest.customer_end(request.match_info["id"], reason.reason)
        return ok(interaction_out(it))

    async def post_survey(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        answer = await body(request, SurveyIn)
        stored = await self.app[SURVEYS].answer(request.match_info["id"], answer)
        return ok(
            SurveyOut(
                kind=SurveyKind(stored.kind),
                score=stored.score,
                comment=stored.comment,
                answered_at=stored.answered_at,
            ),
            201,
        )

    # ------------------------------------------------------------ reports

    async def get_kpis(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor)
        query = dict(request.query)
        fmt = query.pop("format", "json")
        if fmt not in ("json", "csv"):
            raise BadRequest(
                "format: one of json, csv",
                errors=[{"loc": ["query", "format"], "msg": "one of json, csv", "type": "value_error"}],
            )
        kq = parse_query(query, self.app[SETTINGS].file.server.timezone)
        report = await self.app[REPORTS].kpis(kq)
        if fmt == "csv":
            return web.Response(
                text=kpi_csv(report),
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": 'attachment; filename="kpis.csv"'},
            )
        return ok(report)

    # ------------------------------------------------------------ customers

    async def get_context(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.supervisor, Role.agent)
        customer_id = parse_uuid(request.match_info["id"])
        if customer_id is None:
            raise NotFound(f"customer {request.match_info['id']} not found")
        if principal.role == Role.agent and not await self._agent_may_see(principal, customer_id):
            raise Forbidden("agents see only the customers they are serving")
        record = await customers.context_json(self.pool, customer_id)
        if record is None:
            raise NotFound(f"customer {request.match_info['id']} not found")
        return ok(ContextRecord.model_validate_json(record))

    async def post_customer_event(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        customer_id = request.match_info["id"]
        ev = await body(request, JourneyEventIn)
        uid = parse_uuid(customer_id)
        try:
            if uid is None:
                raise RecordNotFound(customer_id)
            event = await journey.add_event(
                self.pool, uid, ev.type, ev.data, at=ev.at, cap=self.ingest.journey_cap
            )
        except RecordNotFound as exc:  # no such customer, or an erased one
            raise NotFound(f"customer {customer_id} not found") from exc
        return ok(jsonable(event), 201)

    async def post_journey_event(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        ev = await body(request, IdentityJourneyEventIn)
        customer_id, event = await self.ingest.journey_event(ev)
        out = JourneyEventRecorded(
            customer_id=str(customer_id), event=JourneyEventOut.model_validate(jsonable(event))
        )
        return ok(out, 201)

    async def export_customer(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        uid = parse_uuid(request.match_info["id"])
        raw = await privacy.export_json(self.pool, uid) if uid is not None else None
        if raw is None:
            raise NotFound(f"customer {request.match_info['id']} not found")
        return ok(CustomerExport.model_validate_json(raw))

    async def delete_customer(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.admin)
        uid = parse_uuid(request.match_info["id"])
        # who asked, never a secret: the stored token's id, or the deployment's own admin token
        erased_by = f"{principal.role.value}:{principal.token_id or 'OMNIROUTE_ADMIN_TOKEN'}"
        try:
            erased = await privacy.erase(self.pool, uid, erased_by) if uid is not None else None
        except privacy.LiveWork as exc:
            raise Conflict(
                f"{exc}: erase when they have ended",
                errors=[{"loc": ["id"], "msg": "the customer has live interactions"}],
            ) from exc
        if erased is None:
            raise NotFound(f"customer {request.match_info['id']} not found")
        if erased.new:
            # each domain's event stream keeps recent message events for supervisors' replay: drop this
            # customer's, in every domain that served them (the domains of one deployment share a Redis)
            removed = 0
            for namespace, ids in sorted(erased.interactions.items()):
                removed += await forget(self.engine, namespace, ids)
            log.info(
                "customer.erased",
                customer_id=str(uid),
                erasure_id=str(erased.erasure.id),
                stream_events_removed=removed,
            )
        e = erased.erasure
        out = ErasureOut(
            id=str(e.id),
            customer_id=str(e.customer_id),
            erased_by=e.erased_by,
            erased_at=e.erased_at,
            counts={k: int(v) for k, v in e.counts.items()},
        )
        return ok(out)

    async def post_customer_merge(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.supervisor)
        req = await body(request, MergeIn)
        done = await merges.merge(
            self.pool,
            self.engine,
            request.match_info["id"],
            req.other_customer_id,
            reason=req.reason,
            by=merges.who(principal),
        )
        return ok(done, 201)

    async def post_customer_unmerge(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.supervisor)
        req = await body(request, UnmergeIn)
        done = await merges.unmerge(
            self.pool, self.engine, request.match_info["id"], req.merge_id, by=merges.who(principal)
        )
        return ok(done)

    # ------------------------------------------------------------ directory

    async def list_queues(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor, Role.agent, Role.adapter)
        day = await self.stats.day_counts()
        out = [
            QueueOut(
                id=qid,
                stats=await self.stats.queue_stats(qid, day.get(qid)),
                **cfg.model_dump(),
                **hours_now(cfg).model_dump(),
            )
            for qid, cfg in sorted(self.directory.queues.items())
        ]
        return ok(out)

    async def get_queue(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor, Role.agent, Role.adapter)
        qid = request.match_info["id"]
        cfg = self.directory.queues.get(qid)
        if cfg is None:
            raise NotFound(f"queue {qid} not found")
        day = await self.stats.day_counts()
        stats = await self.stats.queue_stats(qid, day.get(qid))
        return ok(QueueOut(id=qid, stats=stats, **cfg.model_dump(), **hours_now(cfg).model_dump()))

    async def put_queue(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        qid = _ident(request.match_info["id"])
        cfg = await body(request, QueueConfig)
        created = qid not in self.directory.queues
        await self.directory.put_queue(qid, cfg)
        return ok(
            QueueOut(id=qid, **cfg.model_dump(), **hours_now(cfg).model_dump()), 201 if created else 200
        )

    async def _agent_out(self, agent_id: str, cfg: AgentConfig) -> AgentOut:
        live = await self.engine.agent_live(agent_id)
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
                capacity={ch: int(live.get(f"cap:{ch}", n)) for ch, n in cap.items()},
            ),
            groups=list(cfg.groups),
        )

    async def list_agents(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor)
        return ok([await self._agent_out(a, cfg) for a, cfg in sorted(self.directory.agents.items())])

    async def get_agent(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.supervisor, Role.agent)
        agent_id = request.match_info["id"]
        if principal.role == Role.agent and principal.agent_id != agent_id:
            raise Forbidden("an agent token reads only its own agent")
        cfg = self.directory.agents.get(agent_id)
        if cfg is None:
            raise NotFound(f"agent {agent_id} not found")
        return ok(await self._agent_out(agent_id, cfg))

    async def get_agent_states(self, request: web.Request) -> web.Response:
        principal = await self.who(request, Role.supervisor, Role.agent)
        agent_id = request.match_info["id"]
        if principal.role == Role.agent and principal.agent_id != agent_id:
            raise Forbidden("an agent token reads only its own agent")
        if agent_id not in self.directory.agents:
            raise NotFound(f"agent {agent_id} not found")
        end = _query_time(request, "to") or datetime.now(UTC)
        start = _query_time(request, "from") or end - timedelta(hours=24)
        return ok(await self.app[PRESENCE].report(agent_id, start, end))

    async def put_agent(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        agent_id = _ident(request.match_info["id"])
        cfg = await body(request, AgentConfig)
        created = agent_id not in self.directory.agents
        await self.directory.put_agent(agent_id, cfg)
        return ok(await self._agent_out(agent_id, cfg), 201 if created else 200)

    async def get_rules(self, request: web.Request) -> web.Response:
        await self.who(request, Role.supervisor)
        return ok(self.directory.rules)

    async def put_rules(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        rules = (await body(request, RulesIn)).rules
        unknown = [r.queue for r in rules if r.queue not in self.directory.queues]
        if unknown:
            raise BadRequest(f"rules name unknown queues: {', '.join(unknown)}")
        await self.directory.put_rules(rules)
        return ok(rules)

    async def post_token(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        tin = await body(request, TokenIn)
        if (tin.role == Role.agent) != (tin.agent_id is not None):
            raise BadRequest(
                "agent_id is required for an agent token and only for it",
                errors=[{"loc": ["agent_id"], "msg": "required with role agent, else forbidden"}],
            )
        if tin.agent_id is not None and tin.agent_id not in self.directory.agents:
            raise BadRequest(
                f"unknown agent {tin.agent_id!r}", errors=[{"loc": ["agent_id"], "msg": "unknown"}]
            )
        if tin.expires_at is not None and tin.expires_at <= datetime.now(UTC):
            raise BadRequest(
                "expires_at is in the past",
                errors=[{"loc": ["expires_at"], "msg": "must be in the future"}],
            )
        token = auth.new_token()
        stored = await token_store.insert(
            self.pool,
            self.engine.namespace,
            auth.hash_token(token),
            tin.role.value,
            tin.agent_id,
            tin.name,
            tin.expires_at,
        )
        log.info("token.created", token_id=str(stored.id), token_role=tin.role.value, agent_id=tin.agent_id)
        out = TokenOut(
            id=str(stored.id),
            token=token,
            role=tin.role,
            agent_id=tin.agent_id,
            name=tin.name,
            expires_at=stored.expires_at,
        )
        return ok(out, 201)

    async def list_tokens(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        now = datetime.now(UTC)
        return ok(
            [token_info_out(t, now) for t in await token_store.all_tokens(self.pool, self.engine.namespace)]
        )

    async def delete_token(self, request: web.Request) -> web.Response:
        await self.who(request, Role.admin)
        token_id = parse_uuid(request.match_info["id"])
        revoked = (
            await token_store.revoke(self.pool, self.engine.namespace, token_id)
            if token_id is not None
            else None
        )
        if revoked is None:
            raise NotFound(f"token {request.match_info['id']} not found")
        # refused here at once; every other process refuses it when the event reaches it
        self.hub.token_sockets.revoked(str(revoked.id))
        await publish(self.engine, "token_revoked", {"token_id": str(revoked.id), "role": revoked.role})
        log.info("token.revoke", token_id=str(revoked.id), token_role=revoked.role)
        return web.Response(status=204)

    # ------------------------------------------------------------ message receipts

    async def post_message_status(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        st = await body(request, MessageStatusIn)
        mid = parse_uuid(request.match_info["id"])
        changed = None
        if mid is not None:
            try:
                changed = await messages.set_status(self.pool, mid, st.status, st.detail, st.external_id)
            except Duplicate as exc:
                raise Conflict(
                    str(exc), errors=[{"loc": ["external_id"], "msg": "belongs to another message"}]
                ) from exc
        if changed is None:
            raise NotFound(f"message {request.match_info['id']} not found")
        await publish_message_status(self.engine, changed, changed.status, st.detail)
        return ok({"id": str(changed.id), "status": changed.status})

    async def post_status_by_external(self, request: web.Request) -> web.Response:
        await self.who(request, Role.adapter)
        st = await body(request, MessageStatusIn)
        if not st.external_id:
            raise BadRequest("external_id is required", errors=[{"loc": ["external_id"], "msg": "required"}])
        changed = await messages.set_status_by_external(self.pool, st.external_id, st.status, st.detail)
        for m in changed:
            await publish_message_status(self.engine, m, m.status, st.detail)
        return ok({"updated": len(changed)})

    # ------------------------------------------------------------ operations

    async def meta(self, request: web.Request) -> web.Response:
        """The channel table and other facts a client reads before it draws anything; public, like the
        pages that read it."""
        return ok(Meta(channels=[ChannelInfo.of(ch) for ch in Channel]))

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    async def healthz(self, request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            await ping(self.pool)
            checks["postgres"] = "ok"
        except Exception as exc:  # reported, not raised: this is the health report
            checks["postgres"] = f"error: {type(exc).__name__}"
        try:
            await self.engine.redis.ping()
            checks["redis"] = "ok"
            checks["index"] = "ready" if await self.engine.is_built() else "rebuilding"
        except Exception as exc:  # reported, not raised: this is the health report
            checks["redis"] = f"error: {type(exc).__name__}"
        healthy = checks.get("postgres") == "ok" and checks.get("redis") == "ok"
        return web.json_response(
            # the process that answered: which worker, behind a balancer or ``serve --workers``
            {"status": "ok" if healthy else "unhealthy", "checks": checks, "node": self.node.id},
            status=200 if healthy else 503,
        )

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus exposition (``router/metrics.py``). The deployment's gauges (queues, agents) come
        only from the process that holds the exporter lease (``metrics_lease.lua``), so each is counted
        once however many processes are scraped; a process that cannot reach Redis or PostgreSQL now still
        answers, with its own metrics."""
        metrics = self.counters
        metrics.sockets_open.labels(self.node.id).set(len(self.hub.all_sockets))
        try:
            if await self.engine.metrics_lease(self.node.id, METRICS_LEASE_MS):
                day = await self.stats.day_counts()
                queues = {
                    qid: await self.stats.queue_stats(qid, day.get(qid))
                    for qid in sorted(self.directory.queues)
                }
                today = {
                    qid: QueueToday(r.arrived, r.answered, r.abandoned, r.asa_seconds)
                    for qid, r in (await self.stats.day_metrics()).items()
                }
                metrics.deployment.current = Deployment(
                    queues=queues,
                    today=today,
                    agents_by_state=await self.stats.agents_by_state(),
                    connected=int(await self.engine.redis.scard(self.engine.keys.connected)),
                )
            else:
                metrics.deployment.current = None
        except UNAVAILABLE as exc:
            log.warning("metrics.deployment_unavailable", error=type(exc).__name__)
            metrics.deployment.current = None
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def _ident(value: str) -> str:
    if not re.match(ID_PATTERN, value):
        raise BadRequest(
            "ids are letters, digits, _ . - (at most 64)", errors=[{"loc": ["id"], "msg": "invalid id"}]
        )
    return value
