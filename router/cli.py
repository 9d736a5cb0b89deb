"""The ``omniroute`` command: serve, adapter, and the tools (staffing, forecast, simulate, bench)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import importlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from router import logs, workers
from router.app import Server
from router.backends import BackendUnavailable, wait_for_backends
from router.collector import Collector
from router.config import ConfigError, Settings, TokenEntry, load_settings, parse_config
from router.contracts import Role
from router.embedded import EmbeddedError, EmbeddedPostgres, EmbeddedRedis
from router.listener import AcceptErrorLog, raise_file_limit
from router.metrics import METRICS
from router.sdk import host as adapter_host
from router.sdk.client import RouterClient

log = structlog.get_logger("router.cli")


def _demo_tokens(data_dir: Path) -> dict[str, str]:
    path = data_dir / "demo-tokens.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    tokens = {
        "admin": "or_admin_" + secrets.token_urlsafe(18),
        "adapter": "or_adapter_" + secrets.token_urlsafe(18),
        "supervisor": "or_sup_" + secrets.token_urlsafe(18),
    }
    for agent in ("alice", "bob", "carol"):
        tokens[f"agent:{agent}"] = f"or_{agent}_" + secrets.token_urlsafe(18)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tokens, indent=2))
    path.chmod(0o600)
    return tokens


def resolve_settings(config: str | None, env: dict[str, str]) -> tuple[Settings, dict[str, str] | None]:
    """Settings from the file (or the bundled demo) and the environment; demo tokens when demoing."""
    if config is not None:
        return load_settings(config, env), None
    settings = load_settings(None, env)
    demo = parse_config((resources.files("router") / "demo.toml").read_text(), source="demo.toml")
    tokens = _demo_tokens(settings.data_dir)
    demo.tokens = [
        TokenEntry(
            token=tok,
            role=Role.agent if key.startswith("agent:") else Role(key),
            agent_id=key.split(":", 1)[1] if key.startswith("agent:") else None,
        )
        for key, tok in tokens.items()
        if key != "admin"
    ]
    settings.file = demo
    if not settings.admin_token:
        settings.admin_token = tokens["admin"]
    return settings, tokens


async def serve(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    try:
        settings, demo_tokens = resolve_settings(args.config, env)
    except ConfigError as exc:
        print(f"omniroute: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.file.server.host
    port = args.port if args.port is not None else settings.file.server.port
    if args.listen_fd is not None:
        return await _serve_worker(settings, host, port, socket.socket(fileno=args.listen_fd))
    os.environ.setdefault("XDG_RUNTIME_DIR", str(settings.data_dir / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    embedded: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        if not settings.database_url:
            pg = EmbeddedPostgres(settings.data_dir)
            settings.database_url = pg.start()
            embedded.append(pg)
        if not settings.redis_url:
            rd = EmbeddedRedis(settings.data_dir)
            settings.redis_url = rd.start()
            embedded.append(rd)
        await wait_for_backends(
            settings.database_url, settings.redis_url, settings.file.server.backend_wait_seconds
        )
        if args.workers > 1:
            return await _serve_workers(args, settings, host, port, demo_tokens, embedded)
        soft, _ = raise_file_limit()
        log.info("server.file_limit", open_files=soft)
        server = Server(settings, host, port)
        asyncio.get_running_loop().set_exception_handler(AcceptErrorLog(server[METRICS]))
        try:
            url = await server.start()
        except OSError as exc:
            await server.stop()
            if exc.errno == errno.EADDRINUSE:
                return _port_in_use(host, port)
            raise
        _banner(url, settings, demo_tokens, [type(e).__name__ for e in embedded])
        collector = Collector(server[METRICS])
        collector.start()
        await _stopped()
        log.info("server.stopping")
        await collector.stop()
        await server.stop()
        return 0
    except (EmbeddedError, adapter_host.AdapterConfigError, BackendUnavailable) as exc:
        print(f"omniroute: {exc}", file=sys.stderr)
        return 1
    finally:
        for e in reversed(embedded):
            e.stop()


def _port_in_use(host: str, port: int) -> int:
    print(f"omniroute: port {port} on {host} is already in use; choose another with --port", file=sys.stderr)
    return 1


async def _stopped(parent: int | None = None) -> None:
    """Until SIGINT or SIGTERM, or (a worker) until the parent process is gone: a worker whose parent was
    killed outright stops too rather than serving on unsupervised."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        if parent is not None and os.getppid() != parent:
            log.warning("worker.orphaned", parent=parent)
            return


async def _serve_workers(
    args: argparse.Namespace,
    settings: Settings,
    host: str,
    port: int,
    demo_tokens: dict[str, str] | None,
    embedded: Sequence[EmbeddedPostgres | EmbeddedRedis],
) -> int:
    """The parent of ``--workers N``: bind once, start the workers on that socket, keep them running
    (see :mod:`router.workers`)."""
    try:
        sock = workers.listen(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return _port_in_use(host, port)
        raise
    bound = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    _banner(f"http://{shown}:{bound}", settings, demo_tokens, [type(e).__name__ for e in embedded])
    print(f"  {args.workers} worker processes", flush=True)
    assert settings.database_url and settings.redis_url
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "OMNIROUTE_DATA_DIR": str(settings.data_dir),
    }
    argv = [sys.executable, "-m", "router", "--log-level", args.log_level, "serve"]
    argv += ["--listen-fd", str(sock.fileno()), "--host", host, "--port", str(bound)]
    if args.config is not None:
        argv += ["--config", args.config]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return await workers.Workers(args.workers, sock, argv, env).run(stop)
    finally:
        sock.close()


async def _serve_worker(settings: Settings, host: str, port: int, sock: socket.socket) -> int:
    """One worker of ``--workers N``: serve the parent's socket until told to stop."""
    raise_file_limit()
    server = Server(settings, host, port, sock=sock)
    asyncio.get_running_loop().set_exception_handler(AcceptErrorLog(server[METRICS]))
    collector = Collector(server[METRICS])
    try:
        await server.start()
        collector.start()
        log.info("worker.ready", pid=os.getpid())
        await _stopped(parent=os.getppid())
        log.info("server.stopping")
    except (adapter_host.AdapterConfigError, BackendUnavailable) as exc:
        print(f"omniroute: {exc}", file=sys.stderr)
        return 1
    finally:
        await collector.stop()
        await server.stop()
    return 0


def _banner(url: str, settings: Settings, tokens: dict[str, str] | None, embedded: list[str]) -> None:
    lines = [
        f"omniroute is running at {url}",
        f"  agent desktop:  {url}/desktop/",
        f"  wallboard:      {url}/wallboard/",
        f"  reports:        {url}/reports/",
        f"  API document:   {url}/v1/openapi.json",
    ]
    if embedded:
        lines.append(
            f"  embedded servers under {settings.data_dir} (set DATABASE_URL and REDIS_URL to use yours)"
        )
    if tokens:
        lines.append("  demo tokens (kept in demo-tokens.json in the data directory):")
        for key, tok in tokens.items():
            lines.append(f"    {key:<14} {tok}")
    print("\n".join(lines), flush=True)


async def adapter(args: argparse.Namespace) -> int:
    """Run one channel adapter as its own process, pointed at a router."""
    token = args.token or os.environ.get("OMNIROUTE_ADAPTER_TOKEN")
    if not token:
        print("omniroute: an adapter token is needed (--token or OMNIROUTE_ADAPTER_TOKEN)", file=sys.stderr)
        return 2
    sections: dict[str, dict[str, object]] = {}
    if args.config:
        try:
            sections = dict(parse_config(Path(args.config).read_text(), source=args.config).adapters)
        except (ConfigError, OSError) as exc:
            print(f"omniroute: {exc}", file=sys.stderr)
            return 2
    section = dict(sections.get(args.name, {}))
    section["enabled"] = True
    client = RouterClient(args.router, token)
    try:
        adapters = adapter_host.load({args.name: section}, client)
    except adapter_host.AdapterConfigError as exc:
        print(f"omniroute: {exc}", file=sys.stderr)
        return 2

    host = adapter_host.AdapterHost(adapters, client, token)
    root = web.Application()
    root.add_subapp("/adapters/", host.app())
    runner = web.AppRunner(root, access_log_class=logs.AccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    print(
        f"adapter {args.name} listening on http://{args.host}:{args.port}/adapters/ for router {args.router}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await client.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omniroute", description="Omnichannel contact-center routing server"
    )
    parser.add_argument("--log-level", default=os.environ.get("OMNIROUTE_LOG_LEVEL", "info"))
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "serve", help="run the router (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL)"
    )
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--config", default=None, help="TOML configuration (default: the bundled demo)")
    p.add_argument(
        "--workers",
        type=workers.worker_count,
        default=workers.worker_count(os.environ.get("OMNIROUTE_WORKERS", "1")),
        help="router processes on the one port: a number, or 'auto' for one per core"
        " (default 1, or OMNIROUTE_WORKERS)",
    )
    p.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=serve)
    a = sub.add_parser("adapter", help="run one channel adapter as its own process")
    a.add_argument("name", choices=sorted(adapter_host.available()) or None)
    a.add_argument("--router", default=os.environ.get("OMNIROUTE_URL", "http://127.0.0.1:8080"))
    a.add_argument("--token", default=None, help="adapter token (default: OMNIROUTE_ADAPTER_TOKEN)")
    a.add_argument("--config", default=None, help="TOML file whose [adapters.NAME] section configures it")
    a.add_argument("--host", default="127.0.0.1")
    a.add_argument("--port", type=int, default=8081)
    a.set_defaults(func=adapter)
    for name, (_, summary, _) in TOOLS.items():
        t = sub.add_parser(name, help=summary, description=summary)
        t.set_defaults(tool=name)
    return parser


# The offline tools live in router.tools behind the ``tools`` extra; a tool's module (and what it needs:
# matplotlib, psutil) is imported only when that tool is asked for, never by ``serve``.
TOOLS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "staffing": (
        "router.tools.staffing",
        "agents needed for a service-level target (Erlang C / Erlang A)",
        (),
    ),
    "simulate": (
        "router.tools.scenarios",
        "run a simulated contact center against the real server and compare with Erlang C",
        ("matplotlib",),
    ),
    "bench": (
        "router.tools.bench",
        "measure latency, throughput and socket scale of a running server",
        ("psutil",),
    ),
    "bench-reports": (
        "router.tools.report_bench",
        "time GET /v1/reports/kpis for one month over a synthetic year of history",
        (),
    ),
    "forecast": (
        "router.tools.forecast",
        "forecast a queue's arrivals from its history, with the backtest and the staffing plan",
        (),
    ),
    "bench-forecast": (
        "router.tools.forecast_bench",
        "time GET /v1/reports/forecast over a synthetic year of one queue's history",
        (),
    ),
}
TOOLS_EXTRA_HINT = "pip install 'omniroute[tools]'"


class MissingExtra(Exception):
    """A tool was asked for without the ``tools`` extra installed."""


def load_tool(name: str) -> Any:
    module_path, _, needs = TOOLS[name]
    missing = [m for m in needs if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(
            f"omniroute {name} needs the tools extra ({', '.join(missing)} not installed): {TOOLS_EXTRA_HINT}"
        )
    return importlib.import_module(module_path)


def _with_tool_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Give the one tool named on the command line its own arguments (imports that tool only)."""
    name = next((a for a in argv if a in TOOLS), None)
    if name is None:
        return
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    tool_parser = sub.choices[name]
    module = load_tool(name)
    module.add_arguments(tool_parser)
    tool_parser.set_defaults(func=module.run)


EVENT_LOOPS = ("uvloop", "asyncio")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop of the command, from ``OMNIROUTE_EVENT_LOOP``: ``uvloop`` (the default; libuv's loop
    costs the router about a quarter less CPU per contact than asyncio's own) or ``asyncio``. Where uvloop
    is not installed (Windows) asyncio's loop is used. None: asyncio's default loop."""
    chosen = os.environ.get("OMNIROUTE_EVENT_LOOP", "uvloop").strip().lower() or "uvloop"
    if chosen not in EVENT_LOOPS:
        raise ValueError(f"OMNIROUTE_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, got {chosen!r}")
    if chosen == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        loop_factory = _loop_factory()
    except ValueError as exc:
        print(f"omniroute: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    try:
        _with_tool_arguments(parser, argv)
    except MissingExtra as exc:
        print(exc, file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    logs.configure(args.log_level)
    result = args.func(args)
    if asyncio.iscoroutine(result):
        with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as runner:
            return int(runner.run(result) or 0)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
