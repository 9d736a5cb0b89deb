"""Connection pool, named SQL queries and migrations.

Queries live in ``context_store/sql/*.sql``, each introduced by a ``-- name: query_name``
header and followed by comment lines that list its ``$1..$n`` arguments. Migrations are
``context_store/migrations/NNNN_*.sql``, applied in order at start in one transaction under a
transaction-scoped advisory lock, so any number of router processes can start at once (behind PgBouncer
in transaction mode too).
"""

from __future__ import annotations

import json
import re
import uuid
from importlib import resources
from typing import Any, TypeAlias, cast

import asyncpg
import structlog

from context_store.errors import StoreError

log = structlog.get_logger("context_store")

Conn: TypeAlias = "asyncpg.Connection | asyncpg.Pool"
"""Where a query runs: a pooled connection (inside a transaction or not) or the pool itself."""

MIGRATION_LOCK_ID = 0x6F6D6E69  # "omni"
_NAME_RE = re.compile(r"^--\s*name:\s*([a-z0-9_]+)\s*$", re.MULTILINE)


def _load_queries() -> dict[str, str]:
    queries: dict[str, str] = {}
    sql_dir = resources.files("context_store") / "sql"
    for entry in sorted(sql_dir.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        text = entry.read_text(encoding="utf-8")
        parts = _NAME_RE.split(text)
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in queries:
                raise RuntimeError(f"query {name!r} defined twice")
            queries[name] = body.strip()
    return queries


QUERIES: dict[str, str] = _load_queries()


def q(name: str) -> str:
    return QUERIES[name]


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class StatementCount:
    """Statements this process sent to PostgreSQL through the pool (each one round trip, ``BEGIN`` and
    ``COMMIT`` included; an ``executemany`` batch counts once): ``omniroute_pg_statements_total``."""

    value = 0


class _Connection(asyncpg.Connection):  # type: ignore[misc]
    """No reset query when a connection goes back to the pool: omniroute keeps no session state (its
    advisory locks are transaction-scoped, it neither listens nor sets session variables), and the
    default reset is one more round trip on every query run through the pool.

    Every statement is counted in :class:`StatementCount` here, where all of them pass: asyncpg has no
    cheaper hook (a query logger schedules a callback per query). ``execute`` with arguments and the
    ``fetch*`` methods go through ``_execute``; ``execute`` without arguments through the simple query
    protocol; ``executemany`` through ``_executemany``."""

    def get_reset_query(self) -> str:
        return ""

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        if not args:
            StatementCount.value += 1
        return cast(str, await super().execute(query, *args, timeout=timeout))

    async def _execute(self, *args: Any, **kwargs: Any) -> Any:
        StatementCount.value += 1
        return await super()._execute(*args, **kwargs)

    async def _executemany(self, *args: Any, **kwargs: Any) -> Any:
        StatementCount.value += 1
        return await super()._executemany(*args, **kwargs)


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 20,
    pgbouncer: bool = False,
    application_name: str | None = None,
) -> asyncpg.Pool:
    """``pgbouncer``: the server is PgBouncer in transaction mode, where consecutive statements of a client
    may run on different server connections. asyncpg's cache of named prepared statements is then off (a
    statement prepared on one server connection is unknown on the next), and no ``jit`` startup parameter is
    sent (PgBouncer refuses unknown ones; set ``jit = off`` on the role or database instead)."""
    server_settings: dict[str, str] = {}
    if not pgbouncer:
        # Every query here is short; PostgreSQL's JIT compiles a report's plan for seconds before running
        # it for milliseconds (its cost estimate passes jit_above_cost), and gains nothing elsewhere.
        server_settings["jit"] = "off"
    if application_name:
        server_settings["application_name"] = application_name
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            command_timeout=30,
            connection_class=_Connection,
            server_settings=server_settings,
            statement_cache_size=0 if pgbouncer else 100,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise StoreError(f"cannot connect to PostgreSQL: {type(exc).__name__}") from exc
    assert pool is not None
    return pool


def migration_files() -> list[tuple[int, str, str]]:
    found = []
    mig_dir = resources.files("context_store") / "migrations"
    for entry in mig_dir.iterdir():
        m = re.match(r"^(\d{4})_.*\.sql$", entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(pool: asyncpg.Pool) -> list[str]:
    """Apply the migrations not yet applied, in one transaction; returns the names applied now.

    The lock is transaction-scoped (``pg_advisory_xact_lock``), not a session lock taken and released by
    two statements: behind PgBouncer in transaction mode those two may run on different server
    connections, and a session lock left on a pooled server connection would block every later start."""
    applied_now: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_files():
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied_now.append(name)
            log.info("migration.applied", migration=name)
    return applied_now


def as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID written in ``value``, or None when it is not one (an id from a URL)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def lock_key(conn: asyncpg.Connection, key: str) -> None:
    """Serialize work on ``key`` until the end of the current transaction (``conn`` must be in one)."""
    await conn.execute(q("lock_key"), key)


async def lock_keys(conn: asyncpg.Connection, keys: list[str]) -> None:
    """:func:`lock_key` for each of ``keys``, in their order, in one statement."""
    await conn.fetchval(q("lock_keys"), keys)


async def ping(conn: Conn) -> None:
    """Raises when PostgreSQL does not answer."""
    await conn.fetchval(q("ping"))
