"""Shared fixtures: real PostgreSQL and Redis (the machine's, named by OMNIROUTE_TEST_DATABASE_URL and
OMNIROUTE_TEST_REDIS_URL, or embedded servers from pip), and real omniroute servers on loopback."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis

os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="omniroute-run-"))

from router.config import Settings, parse_config
from tests.chaos.backends import OwnRedis
from tests.support.configs import DEFAULT, Config
from tests.support.recorders import Recorder, SmtpRelay
from tests.support.servers import RouterProcess, Services, TestServer

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

# Each folder is a layer with a marker of its own (``-m engine``); the modules at the top test the
# offline tools.
LAYERS = {
    "unit": "unit",
    "engine": "engine",
    "store": "store",
    "integration": "integration",
    "adapters": "adapters",
    "acceptance": "acceptance",
    "browser": "browser",
    "chaos": "chaos",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        parts = item.path.relative_to(TESTS).parts
        item.add_marker(LAYERS[parts[0]] if len(parts) > 1 else "tools")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The machine's Redis (``OMNIROUTE_TEST_REDIS_URL``), or an embedded one for the session. Tests
    share it safely: each works in a namespace of its own."""
    url = os.environ.get("OMNIROUTE_TEST_REDIS_URL")
    if url:
        yield url
        return
    from router.embedded import EmbeddedRedis

    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="omniroute-test-redis-")))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def services(redis_url: str) -> Iterator[Services]:
    """PostgreSQL (``OMNIROUTE_TEST_DATABASE_URL``, or an embedded server) with a database of this
    session's own, and the session's Redis."""
    db = os.environ.get("OMNIROUTE_TEST_DATABASE_URL")
    started = []
    data_dir = Path(tempfile.mkdtemp(prefix="omniroute-test-"))
    if not db:
        from router.embedded import EmbeddedPostgres

        pg = EmbeddedPostgres(data_dir)
        db = pg.start()
        started.append(pg)
    # a database of this session's own, so concurrent runs on one server never touch each other
    dbname = "omniroute_t_" + uuid.uuid4().hex[:10]
    asyncio.run(_admin_sql(db, f'CREATE DATABASE "{dbname}"'))
    try:
        yield Services(database_url=_with_database(db, dbname), redis_url=redis_url, data_dir=data_dir)
    finally:
        asyncio.run(_admin_sql(db, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        for s in reversed(started):
            s.stop()


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


async def _admin_sql(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _reset(services: Services) -> None:
    conn = await asyncpg.connect(services.database_url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
        )
        if tables:
            await conn.execute("TRUNCATE " + ", ".join(f'"{t["tablename"]}"' for t in tables) + " CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedis]:
    """A Redis-compatible server of the module's own, for tests that stop, restart or reconfigure one."""
    server = OwnRedis(tmp_path_factory.mktemp("own-redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A routing namespace of this test's own; its keys (its domains': ``{ns}``, ``{ns-eu}``) are removed
    from the shared Redis once its servers have stopped."""
    ns = "t" + uuid.uuid4().hex[:10]
    yield ns
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{{{ns}*", count=1000))
        for k in range(0, len(keys), 500):
            client.delete(*keys[k : k + 500])
    except redis.RedisError:
        pass  # a test that stopped the shared Redis leaves nothing to clean
    finally:
        client.close()


MakeServer = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def make_server(services: Services, namespace: str) -> AsyncIterator[MakeServer]:
    """Start real omniroute servers (in this process, on free loopback ports) sharing one database and
    one Redis namespace; all are stopped at the end of the test. ``domain="eu"`` starts a server in a
    routing domain of its own (the namespace ``<test namespace>-eu``) on the same database and Redis."""
    await _reset(services)
    servers: list[TestServer] = []

    async def factory(
        config: Config | str = DEFAULT,
        *,
        domain: str | None = None,
        database_url: str | None = None,
        **env_settings: Any,
    ) -> TestServer:
        """``env_settings``: what the environment would set (``survey_secret=…``); ``database_url``: the
        session's database reached otherwise (as another role)."""
        cfg = parse_config(str(config), source="test config")
        cfg.routing.namespace = f"{namespace}-{domain}" if domain else namespace
        settings = Settings(
            file=cfg,
            database_url=database_url or services.database_url,
            redis_url=services.redis_url,
            admin_token="admin-" + uuid.uuid4().hex,
            data_dir=services.data_dir,
            **env_settings,
        )
        server = TestServer(settings)
        await server.start()
        servers.append(server)
        return server

    yield factory
    for s in reversed(servers):
        await s.stop()


@pytest.fixture
async def server(make_server: MakeServer) -> TestServer:
    return await make_server()


@pytest.fixture
async def processes(
    services: Services, namespace: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[RouterProcess]]]:
    """Start router processes (``python -m router serve``) on the test database and Redis namespace."""
    await _reset(services)
    admin = "admin-" + uuid.uuid4().hex
    started: list[RouterProcess] = []

    async def factory(config: Config) -> RouterProcess:
        proc = RouterProcess(str(config.with_routing(namespace=namespace)), services, admin, tmp_path)
        await proc.start()
        started.append(proc)
        return proc

    yield factory
    for p in started:
        await p.stop()


@pytest.fixture
async def provider() -> AsyncIterator[Recorder]:
    """A recording HTTP server standing in for the providers' APIs (Twilio, Meta)."""
    server = Recorder()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    """A recording SMTP relay."""
    server = SmtpRelay()
    await server.start()
    yield server
    await server.stop()
