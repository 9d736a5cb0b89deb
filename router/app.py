"""The aiohttp application: connections and background tasks in ``cleanup_ctx``, typed state in
``web.AppKey`` s, open sockets closed with GOING_AWAY on shutdown."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import asyncpg
import structlog
from aiohttp import WSCloseCode, web

from context_store import tokens as token_store
from context_store.db import create_pool, migrate
from router.backends import POOL, REPORTS_POOL, close_redis, redis_client
from router.config import SETTINGS, Settings, TokenEntry
from router.contracts import Role
from router.http import survey_page
from router.http.api import API, problem_middleware
from router.http.callbacks import CallbackAPI
from router.http.campaigns import CampaignsAPI
from router.http.consent import ConsentAPI
from router.http.integrations import Integrations
from router.http.routes import SOCKET_ROUTES, route_defs
from router.http.shedding import ADMISSION, shed_load
from router.http.shedding import install as install_admission
from router.listener import CappedSite, ConnectionCap
from router.logs import AccessLogger
from router.metrics import METRICS, Metrics, measure_requests
from router.node import NODE, Node
from router.realtime.hub import HUB, Hub
from router.realtime.sockets import SOCKETS, Sockets
from router.routing import events
from router.routing.directory import DIRECTORY, Directory
from router.routing.engine import ENGINE, Engine
from router.routing.stats import STATS, Statistics
from router.sdk import host as adapter_host
from router.sdk.client import RouterClient
from router.service.auth import TOKENS, Principal, TokenCache, hash_token
from router.service.blending import BLENDING, Blending
from router.service.callbacks import CALLBACKS, Callbacks
from router.service.campaigns import CAMPAIGNS, Campaigns
from router.service.decisions import DECISIONS, DecisionLog
from router.service.forecast import FORECASTS, Forecasts
from router.service.ingest import INGEST, Ingest
from router.service.keywords import ConsentKeywords
from router.service.outbound import OUTBOUND, Outbound
from router.service.presence import PRESENCE, Presence
from router.service.reconciler import RECONCILER, Reconciler
from router.service.reports import REPORTS, Reports
from router.service.retention import Retention
from router.service.survey_links import SurveyLinks
from router.service.surveys import SURVEYS, Surveys
from router.service.webhooks import WEBHOOKS, Webhooks
from router.service.work import WORK, Work

log = structlog.get_logger("router.app")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")

ADAPTER_CLIENT = web.AppKey("adapter_client", RouterClient)
ADAPTER_HOST = web.AppKey("adapter_host", adapter_host.AdapterHost)


def static_dir() -> Path:
    return Path(str(resources.files("agent_desktop") / "static"))


async def _connections(app: web.Application) -> AsyncIterator[None]:
    """Open PostgreSQL and Redis, build every service from the ones it uses, and make the live index
    ready before the first request."""
    settings = app[SETTINGS]
    assert settings.database_url and settings.redis_url, "URLs are resolved before the app is built"
    pgbouncer = settings.file.server.pgbouncer
    pool = await create_pool(
        settings.database_url, max_size=settings.file.server.database_pool_size, pgbouncer=pgbouncer
    )
    reports_pool = pool
    if settings.reports_database_url:
        reports_pool = await create_pool(
            settings.reports_database_url,
            min_size=1,
            max_size=5,
            pgbouncer=pgbouncer,
            application_name="omniroute-reports",
        )
    redis = redis_client(settings.redis_url)
    engine = Engine(redis, settings.namespace)
    try:
        await migrate(pool)
        node, metrics = app[NODE], app[METRICS]
        directory = Directory(pool, engine, node.id, settings.file.routing.default_queue)
        stats = Statistics(pool, engine, directory, settings.file.server.timezone)
        tokens = TokenCache(pool, settings.namespace, settings.admin_token)
        adapter_token = app[ADAPTER_CLIENT].token
        tokens.add_internal(adapter_token, Principal(Role.adapter))
        outbound = Outbound(pool, engine, directory, adapter_token)
        reports_cfg = settings.file.reports
        surveys = Surveys(
            pool,
            settings.namespace,
            directory,
            outbound,
            cooldown_days=reports_cfg.survey_cooldown_days,
            reply_hours=reports_cfg.survey_reply_hours,
            links=survey_links(settings),
        )
        keywords = ConsentKeywords(pool, engine, directory, outbound, settings.file.outbound)
        identity = settings.file.identity
        ingest = Ingest(
            pool,
            engine,
            directory,
            stats,
            metrics,
            outbound,
            identity.default_region,
            surveys,
            keywords=keywords,
            journey_cap=identity.journey_cap,
        )
        work = Work(pool, engine, directory, stats, metrics, ingest, surveys)
        app[SURVEYS], app[REPORTS] = (
            surveys,
            Reports(reports_pool, settings.namespace, fcr_window_hours=reports_cfg.fcr_window_hours),
        )
        app[FORECASTS] = Forecasts(
            reports_pool,
            settings.namespace,
            shrinkage=reports_cfg.shrinkage,
            service_level_target=reports_cfg.service_level_target,
        )
        hub = Hub(pool, engine, directory, stats, metrics, node, tokens)
        presence = Presence(pool, settings.namespace, settings.file.presence)
        app[POOL], app[ENGINE], app[DIRECTORY], app[STATS] = pool, engine, directory, stats
        app[REPORTS_POOL] = reports_pool
        app[TOKENS], app[OUTBOUND], app[INGEST], app[WORK], app[HUB] = tokens, outbound, ingest, work, hub
        app[WEBHOOKS] = Webhooks(pool, engine, settings.file.webhooks)
        app[CAMPAIGNS] = campaigns = Campaigns(
            pool,
            engine,
            outbound,
            node.id,
            settings.file.outbound,
            settings.file.server.timezone,
            directory,
            identity.journey_cap,
        )
        ingest.campaigns = campaigns
        keywords.opt_out_hooks.append(campaigns.opted_out)
        app[PRESENCE] = presence
        app[CALLBACKS] = callbacks = Callbacks(
            pool, engine, directory, outbound, metrics, identity.default_region
        )
        app[SOCKETS] = Sockets(
            pool, engine, directory, node, hub, work, tokens, outbound, presence, callbacks
        )
        app[RECONCILER] = reconciler = Reconciler(
            pool, engine, directory, node, hub.agents, work, outbound, settings.file.routing
        )
        app[DECISIONS] = DecisionLog(pool, engine, node, settings.namespace)
        app[BLENDING] = hub.blending = Blending(
            pool,
            engine,
            directory,
            stats,
            node,
            settings.file.blending,
            timezone=settings.file.server.timezone,
            interval_seconds=settings.file.routing.blending_interval_seconds,
        )
        await directory.apply_file(settings.file)
        await _apply_file_tokens(pool, engine, settings.file.tokens)
        await reconciler.wait_built()
        await directory.sync_live()
        yield
    finally:
        if CALLBACKS in app:
            await app[CALLBACKS].close()
        await engine.close()
        await close_redis(redis)
        if reports_pool is not pool:
            await reports_pool.close()
        await pool.close()


def survey_links(settings: Settings) -> SurveyLinks | None:
    """E-mail surveys' signed links, when a secret and the public URL the customer's browser reaches are
    configured (``OMNIROUTE_SURVEY_SECRET``, ``[server] public_url``); None: e-mail is not surveyed."""
    public_url = settings.file.server.public_url
    if not settings.survey_secret or not public_url:
        return None
    return SurveyLinks(settings.survey_secret, public_url, settings.file.reports.survey_link_days * 86400)


async def _apply_file_tokens(pool: asyncpg.Pool, engine: Engine, entries: list[TokenEntry]) -> None:
    """Store the tokens the configuration file names, and revoke those it named before and no longer
    does (every running process is told, so their sockets close too). A revoked token stays revoked even
    when the file names it again: a new secret is needed."""
    hashes = []
    async with pool.acquire() as conn, conn.transaction():  # one commit for a big center's tokens
        for tok in entries:
            token_hash = hash_token(tok.token)
            hashes.append(token_hash)
            stored = await token_store.upsert_from_file(
                conn, engine.namespace, token_hash, tok.role.value, tok.agent_id, tok.name
            )
            if stored.revoked_at is not None:
                log.warning("token.file_token_revoked", token_id=str(stored.id), token_name=tok.name)
    for gone in await token_store.revoke_file_tokens_except(pool, engine.namespace, hashes):
        log.info("token.revoked_removed_from_file", token_id=str(gone.id), token_name=gone.name)
        await events.publish(engine, "token_revoked", {"token_id": str(gone.id), "role": gone.role})


async def _background(app: web.Application) -> AsyncIterator[None]:
    engine, hub = app[ENGINE], app[HUB]
    stop = asyncio.Event()
    handler = hub.handle  # presence history is recorded once per domain, by the decision log
    dispatcher = events.Dispatcher(handler)
    app[ADMISSION].event_backlog = lambda: dispatcher.pending
    pump = asyncio.create_task(events.pump(engine, handler, stop, dispatcher), name="events")
    decisions = asyncio.create_task(app[DECISIONS].run(stop), name="decisions")
    tasks = [
        pump,
        decisions,
        asyncio.create_task(hub.supervisor_loop(), name="supervisors"),
        asyncio.create_task(hub.token_sockets.run(), name="token-sweep"),
        asyncio.create_task(app[RECONCILER].run(), name="reconciler"),
        asyncio.create_task(app[OUTBOUND].run(), name="outbound"),
        asyncio.create_task(app[WEBHOOKS].run(), name="webhooks"),
    ]
    if app[BLENDING].rules:
        tasks.append(asyncio.create_task(app[BLENDING].run(), name="blending"))
    if app[SETTINGS].file.outbound.campaign_worker:
        tasks.append(asyncio.create_task(app[CAMPAIGNS].run(), name="campaigns"))
    retention = Retention(app[POOL], app[SETTINGS].file.retention)
    if retention.enabled:
        tasks.append(asyncio.create_task(retention.run(), name="retention"))
    yield
    stop.set()
    for t in tasks:
        if t is not pump and t is not decisions:
            t.cancel()
    await asyncio.wait(tasks, timeout=5)
    await app[ADAPTER_CLIENT].close()


async def _close_sockets(app: web.Application) -> None:
    """on_shutdown: tell every desktop and wallboard the server is going away, all at once, before the
    server waits for their handlers to finish."""
    hub = app.get(HUB)
    if hub is None:
        return
    sockets = [ws for ws in list(hub.all_sockets) if not ws.closed]
    if sockets:
        closing = [
            asyncio.ensure_future(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown"))
            for ws in sockets
        ]
        await asyncio.wait(closing, timeout=3)


def _page(name: str) -> web.RouteDef:
    index = static_dir() / name / "index.html"

    async def handler(request: web.Request) -> web.StreamResponse:
        if not index.exists():
            raise web.HTTPNotFound(text=f"the {name} page is not installed")
        return web.FileResponse(index)

    return web.get(f"/{name}/", handler)


# Every response: no MIME sniffing, no referrer. Every page: only this server's own scripts, styles and
# sockets, and no framing (a page that needs more, such as the web chat page with its inline script, sets
# its own policy and keeps it).
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")


@web.middleware
async def _close_refused_upgrades(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A socket upgrade answered with an error closes the connection instead of keeping it alive."""
    response = await handler(request)
    if response.status >= 400 and request.headers.get("Upgrade", "").lower() == "websocket":
        response.force_close()
    return response


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[measure_requests, _close_refused_upgrades, problem_middleware, shed_load],
        client_max_size=4 * 1024 * 1024,
    )
    app[SETTINGS] = settings
    app[NODE] = Node(grace_ms=int(settings.file.routing.reconnect_grace_seconds * 1000))
    app[METRICS] = Metrics(settings.namespace)
    install_admission(app, settings.file.server)
    client = RouterClient("http://127.0.0.1", "or_internal_" + secrets.token_urlsafe(24))
    app[ADAPTER_CLIENT] = client
    app.cleanup_ctx.append(_connections)
    app.cleanup_ctx.append(_background)
    app.on_shutdown.append(_close_sockets)
    app.on_response_prepare.append(_security_headers)

    async def agent_ws(request: web.Request) -> web.StreamResponse:
        return await request.app[SOCKETS].agent_socket(request)

    async def supervisor_ws(request: web.Request) -> web.StreamResponse:
        return await request.app[SOCKETS].supervisor_socket(request)

    sockets = {"agent_socket": agent_ws, "supervisor_socket": supervisor_ws}
    app.add_routes(route_defs(SOCKET_ROUTES, sockets.__getitem__))
    app.add_routes(API(app).routes())
    app.add_routes(Integrations(app).routes())
    app.add_routes(ConsentAPI(app).routes())
    app.add_routes(CallbackAPI(app).routes())
    app.add_routes(CampaignsAPI(app).routes())
    for name in ("desktop", "wallboard", "reports"):
        app.router.add_routes([_page(name)])
        app.router.add_get(f"/{name}", _redirect(f"/{name}/"))
    app.router.add_get("/", _redirect("/desktop/"))
    app.add_routes(survey_page.routes())
    app.router.add_routes([_files("/static/", static_dir())])
    # Each folder of agent_desktop/static at the top level, so a page's relative imports
    # (../common/dom.js from /desktop/app.js) resolve over HTTP exactly as they do on disk.
    for name in ("desktop", "wallboard", "reports", "common"):
        if (static_dir() / name).is_dir():
            app.router.add_routes([_files(f"/{name}/", static_dir() / name)])

    sections = {k: v for k, v in settings.file.adapters.items() if isinstance(v, dict)}
    adapters = adapter_host.load(sections, client)
    if adapters:
        host = adapter_host.AdapterHost(adapters, client, client.token)
        app[ADAPTER_HOST] = host
        app.add_subapp("/adapters/", host.app())
    return app


def _files(prefix: str, root: Path) -> web.RouteDef:
    """Files under ``root`` at ``prefix``; a missing file is a problem+json 404 like any other (aiohttp's
    own static handler answers it as an empty file response), and nothing outside ``root`` is served."""
    base = root.resolve()

    async def handler(request: web.Request) -> web.StreamResponse:
        path = (base / request.match_info["path"]).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    return web.get(prefix + "{path:.+}", handler)


def _redirect(target: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)

    return handler


def bind_base_url(app: web.Application, base_url: str) -> None:
    """Once the listening address is known: the in-process adapters call the router there, and the
    router hands replies to them there (or to an external adapter's ``outbound_url``)."""
    node, outbound = app[NODE], app[OUTBOUND]
    node.base_url = base_url.rstrip("/")
    app[ADAPTER_CLIENT].base_url = node.base_url
    host = app.get(ADAPTER_HOST)
    if host is not None:
        for adapter in host.adapters.values():
            outbound.add_route(
                adapter.name, adapter.channel.value, f"{node.base_url}/adapters/{adapter.name}/outbound"
            )
            caps = adapter.capabilities.model_dump()
            outbound.declare(adapter.channel.value, {k for k, v in caps.items() if v})
    for name, section in app[SETTINGS].file.adapters.items():
        if isinstance(section, dict) and section.get("outbound_url") and section.get("channel"):
            # an adapter in its own process: it checks the token it was started with
            token_env = str(section.get("outbound_token_env", "OMNIROUTE_ADAPTER_TOKEN"))
            token = section.get("outbound_token") or os.environ.get(token_env)
            outbound.add_route(
                name, str(section["channel"]), str(section["outbound_url"]), str(token) if token else None
            )


class Server:
    """Run the application on a host and port (0 picks a free port); used by the CLI and the tests."""

    def __init__(
        self,
        settings: Settings,
        host: str = "127.0.0.1",
        port: int = 0,
        sock: socket.socket | None = None,
    ) -> None:
        self.app = create_app(settings)
        self.host, self.port = host, port
        self.sock = sock
        """a listening socket to serve instead of binding ``host:port`` (a worker's inherited one)"""
        server = settings.file.server
        # a connection that has not completed a request (idle keep-alive, headers never finished) is
        # closed after the idle timeout
        self.runner = web.AppRunner(
            self.app,
            access_log_class=AccessLogger,
            shutdown_timeout=5,
            keepalive_timeout=server.idle_timeout_seconds,
        )
        self.cap = ConnectionCap(server.max_connections_per_address, self.app[METRICS])
        self.url = ""

    async def start(self) -> str:
        await self.runner.setup()
        site = CappedSite(self.runner, self.host, self.port, self.cap, self.sock)
        await site.start()
        port = site.bound_port
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        self.url = f"http://{shown}:{port}"
        bind_base_url(self.app, self.url)
        return self.url

    def __getitem__(self, key: web.AppKey[T]) -> T:
        """A service of the running application (``server[ENGINE]``), for the CLI and the tests."""
        return self.app[key]

    async def stop(self) -> None:
        await self.runner.cleanup()
