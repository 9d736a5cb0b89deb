"""The deployment switches of docs/deployment.md: reports read through a pool of their own
(``REPORTS_DATABASE_URL``, a read replica in production; here the same database, which proves the wiring),
and PgBouncer's transaction mode (``[server] pgbouncer``: no named prepared statements)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from context_store.db import create_pool
from router.backends import POOL, REPORTS_POOL
from router.service.forecast import FORECASTS
from router.service.reports import REPORTS
from tests.conftest import MakeServer
from tests.support.configs import DEFAULT
from tests.support.servers import Services

PREPARED = "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '__asyncpg_stmt_%'"


async def test_reports_read_through_their_own_pool_when_a_reports_database_is_set(
    make_server: MakeServer, services: Services
) -> None:
    server = await make_server(reports_database_url=services.database_url)
    assert server.server[REPORTS_POOL] is not server.server[POOL]
    assert server.server[REPORTS].pool is server.server[REPORTS_POOL]
    assert server.server[FORECASTS].pool is server.server[REPORTS_POOL]
    await server.ingest(
        channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "r1"}}
    )
    today = datetime.now(UTC).date()
    query = f"from={today}&to={today + timedelta(days=1)}&interval=1d&group_by=none&tz=UTC"
    status, body = await server.request("GET", f"/v1/reports/kpis?{query}", role="supervisor")
    assert status == 200, body
    assert [r["offered"] for r in body["rows"]] == [1]
    # the report's connections are the reports pool's: they name themselves to the server
    names = await server.pool.fetch(
        "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
    )
    assert "omniroute-reports" in {r["application_name"] for r in names}
    status, body = await server.request(
        "GET", f"/v1/reports/quality?from={today}&to={today + timedelta(days=1)}", role="supervisor"
    )
    assert status == 200, body


async def test_without_a_reports_database_reports_share_the_main_pool(make_server: MakeServer) -> None:
    server = await make_server()
    assert server.server[REPORTS_POOL] is server.server[POOL]
    assert server.server[REPORTS].pool is server.server[POOL]
    assert server.server[FORECASTS].pool is server.server[POOL]


async def test_pgbouncer_mode_prepares_no_named_statements(services: Services) -> None:
    """In transaction mode consecutive statements may reach different server connections, so a named
    prepared statement made on one is unknown on the next: with ``pgbouncer`` asyncpg prepares none."""
    for pgbouncer, expect_named in ((False, True), (True, False)):
        pool = await create_pool(services.database_url, min_size=1, max_size=1, pgbouncer=pgbouncer)
        try:
            async with pool.acquire() as conn:
                for _ in range(2):
                    assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
                named = await conn.fetchval(PREPARED)
                assert (named > 0) is expect_named, (pgbouncer, named)
                jit = await conn.fetchval("SHOW jit")
                # the jit startup parameter is not sent through PgBouncer (it refuses unknown ones)
                assert jit == "off" or pgbouncer
        finally:
            await pool.close()


async def test_a_server_in_pgbouncer_mode_routes(make_server: MakeServer) -> None:
    server = await make_server(DEFAULT.with_server(pgbouncer=True))
    carol = await server.agent("carol")
    try:
        made = await server.ingest(
            channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "p1"}}
        )
        offer, ack = await carol.accept_next()
        assert offer["interaction"]["id"] == made["id"] and ack["type"] == "assigned"
        async with server.pool.acquire() as conn:
            assert await conn.fetchval(PREPARED) == 0
    finally:
        await carol.close()
