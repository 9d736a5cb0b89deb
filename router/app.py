"""The aiohttp application: connections and background tasks in ``cleanup_ctx``, typed state in
``web.AppKey`` s, open sockets closed with GOING_AWAY on shutdown."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import Path

import redis.asyncio as aioredis
import structlog
from aiohttp import WSCloseCode, web

from context_store import config as cstore_config
from context_store.db import create_pool, migrate
from router.config import Settings
from router.contracts import Role
from router.http.api import API, HUB, RUNTIME, TOKENS, problem_middleware
from router.http.auth import TokenCache, hash_token
from router.http.routes import SOCKET_ROUTES, route_defs
from router.logs import AccessLogger
from router.realtime.hub import Hub
from router.realtime.sockets import agent_socket, supervisor_socket
from router.routing import directory, events
from router.routing.engine import Engine
from router.sdk import host as adapter_host
from router.sdk.client import RouterClient
from router.service import reconciler
from router.service.outbound import Outbound
from router.state import Principal, Runtime

log = structlog.get_logger("router.app")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SETTINGS = web.AppKey("settings", Settings)
ADAPTER_CLIENT = web.AppKey("adapter_client", RouterClient)
ADAPTER_HOST = web.AppKey("adapter_host", adapter_host.AdapterHost)


def static_dir() -> Path:
    return Path(str(resources.files("agent_desktop") / "static"))


async def _connections(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert settings.database_url and settings.redis_url, "URLs are resolved before the app is built"
    pool = await create_pool(settings.database_url)
    # a blocking pool: a burst (thousands of desktops reconnecting at once) waits for a connection
    # instead of failing with MaxConnectionsError
    pool_r = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url, decode_responses=True, health_check_interval=10, max_connections=64, timeout=30
    )
    redis = aioredis.Redis(connection_pool=pool_r)
    try:
        await migrate(pool)
        rt = Runtime(settings=settings, pool=pool, redis=redis, engine=Engine(redis, settings.namespace))
        hub = Hub(rt)
        rt.hub = hub
        app[RUNTIME] = rt
        app[HUB] = hub
        app[TOKENS] = TokenCache()
        await directory.apply_file(rt, settings.file)
        for tok in settings.file.tokens:
            await cstore_config.insert_token(
                pool, hash_token(tok.token), tok.role.value, tok.agent_id, tok.name
            )
        adapter_token = app[ADAPTER_CLIENT]._token
        rt.internal_tokens[adapter_token] = Principal(Role.adapter)
        rt.outbound = Outbound(rt, adapter_token)
        await reconciler.wait_built(rt)
        await directory.sync_live(rt)
        yield
    finally:
        await redis.aclose()
        await pool_r.disconnect()
        await pool.close()


async def _background(app: web.Application) -> AsyncIterator[None]:
    rt, hub = app[RUNTIME], app[HUB]
    stop = asyncio.Event()
    pump = asyncio.create_task(events.pump(rt, hub.handle, stop), name="events")
    tasks = [
        pump,
        asyncio.create_task(hub.supervisor_loop(), name="supervisors"),
        asyncio.create_task(reconciler.run(rt, hub), name="reconciler"),
    ]
    if rt.outbound is not None:
        tasks.append(asyncio.create_task(rt.outbound.run(), name="outbound"))
    rt.tasks = tasks
    yield
    stop.set()
    for t in tasks:
        if t is not pump:
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


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[problem_middleware], client_max_size=4 * 1024 * 1024)
    app[SETTINGS] = settings
    client = RouterClient("http://127.0.0.1", "or_internal_" + secrets.token_urlsafe(24))
    app[ADAPTER_CLIENT] = client
    app.cleanup_ctx.append(_connections)
    app.cleanup_ctx.append(_background)
    app.on_shutdown.append(_close_sockets)

    async def route(request: web.Request, kind: str) -> web.StreamResponse:
        rt, hub, tokens = request.app[RUNTIME], request.app[HUB], request.app[TOKENS]
        if kind == "agent":
            return await agent_socket(request, rt, hub, tokens)
        return await supervisor_socket(request, rt, hub, tokens)

    async def agent_ws(request: web.Request) -> web.StreamResponse:
        return await route(request, "agent")

    async def supervisor_ws(request: web.Request) -> web.StreamResponse:
        return await route(request, "supervisor")

    sockets = {"agent_socket": agent_ws, "supervisor_socket": supervisor_ws}
    app.add_routes(route_defs(SOCKET_ROUTES, sockets.__getitem__))
    app.add_routes(API(app).routes())
    for name in ("desktop", "wallboard"):
        app.router.add_routes([_page(name)])
        app.router.add_get(f"/{name}", _redirect(f"/{name}/"))
    app.router.add_get("/", _redirect("/desktop/"))
    app.router.add_static("/static/", static_dir(), follow_symlinks=False)
    for name in ("desktop", "wallboard"):
        if (static_dir() / name).is_dir():
            app.router.add_static(f"/{name}/", static_dir() / name, follow_symlinks=False)

    sections = {k: v for k, v in settings.file.adapters.items() if isinstance(v, dict)}
    adapters = adapter_host.load(sections, client)
    if adapters:
        host = adapter_host.AdapterHost(adapters, client, client._token)
        app[ADAPTER_HOST] = host
        app.add_subapp("/adapters/", host.app())
    return app


def _redirect(target: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)

    return handler


def bind_base_url(app: web.Application, base_url: str) -> None:
    """Once the listening address is known: the in-process adapters call the router there, and the
    router hands replies to them there (or to an external adapter's ``outbound_url``)."""
    rt = app[RUNTIME]
    rt.base_url = base_url.rstrip("/")
    app[ADAPTER_CLIENT].base_url = rt.base_url
    if rt.outbound is None:
        return
    host = app.get(ADAPTER_HOST)
    if host is not None:
        for adapter in host.adapters.values():
            rt.outbound.add_route(
                adapter.name, adapter.channel.value, f"{rt.base_url}/adapters/{adapter.name}/outbound"
            )
            caps = adapter.capabilities.model_dump()
            rt.capabilities[adapter.channel.value] = sorted(
                set(rt.capabilities.get(adapter.channel.value, [])) | {k for k, v in caps.items() if v}
            )
    for name, section in rt.settings.file.adapters.items():
        if isinstance(section, dict) and section.get("outbound_url") and section.get("channel"):
            # an adapter in its own process: it checks the token it was started with
            token_env = str(section.get("outbound_token_env", "OMNIROUTE_ADAPTER_TOKEN"))
            token = section.get("outbound_token") or os.environ.get(token_env)
            rt.outbound.add_route(
                name, str(section["channel"]), str(section["outbound_url"]), str(token) if token else None
            )


class Server:
    """Run the application on a host and port (0 picks a free port); used by the CLI and the tests."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_app(settings)
        self.host, self.port = host, port
        self.runner = web.AppRunner(self.app, access_log_class=AccessLogger, shutdown_timeout=5)
        self.url = ""

    async def start(self) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        self.url = f"http://{shown}:{port}"
        bind_base_url(self.app, self.url)
        return self.url

    @property
    def runtime(self) -> Runtime:
        return self.app[RUNTIME]

    async def stop(self) -> None:
        await self.runner.cleanup()
