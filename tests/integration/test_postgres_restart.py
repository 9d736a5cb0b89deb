"""PostgreSQL restarting under a running router: requests answer 503 problem+json while it is down,
nothing already answered 2xx is lost, and the router recovers by itself when it is back."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from router.config import Settings, parse_config
from router.embedded import EmbeddedPostgres
from tests.support.configs import DEFAULT
from tests.support.servers import Services, TestServer


@pytest.mark.slow
async def test_router_survives_a_postgres_restart(services: Services, namespace: str, tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)  # a server of this test's own: it is stopped and started again
    url = await asyncio.to_thread(pg.start)
    cfg = parse_config(str(DEFAULT))
    cfg.routing.namespace = namespace
    server = TestServer(
        Settings(
            file=cfg,
            database_url=url,
            redis_url=services.redis_url,
            admin_token="admin-" + uuid.uuid4().hex,
            data_dir=tmp_path,
        )
    )
    await server.start()
    try:
        await server.token("adapter")
        ids = [
            (
                await server.ingest(
                    channel="chat",
                    queue="chat",
                    content="hi",
                    **{"from": {"kind": "chat_visitor", "value": f"pg{n}"}},
                )
            )["id"]
            for n in range(3)
        ]
        await asyncio.to_thread(pg.stop)

        status, body = await server.request(
            "POST",
            "/v1/interactions",
            {
                "channel": "chat",
                "external_id": "during-outage",
                "queue": "chat",
                "from": {"kind": "chat_visitor", "value": "pg-down"},
            },
            role="adapter",
        )
        assert status == 503, body
        assert server.last_content_type == "application/problem+json"
        status, health = await server.request("GET", "/healthz")
        assert status == 503 and health["checks"]["postgres"].startswith("error")

        await asyncio.to_thread(pg.start)
        for _ in range(100):
            status, _ = await server.request("GET", "/healthz")
            if status == 200:
                break
            await asyncio.sleep(0.1)
        assert status == 200
        # the failed request is retried with the same external id: one interaction, no duplicate
        retried = await server.ingest(
            channel="chat",
            external_id="during-outage",
            queue="chat",
            **{"from": {"kind": "chat_visitor", "value": "pg-down"}},
        )
        again = await server.ingest(
            channel="chat",
            external_id="during-outage",
            queue="chat",
            **{"from": {"kind": "chat_visitor", "value": "pg-down"}},
        )
        assert retried["id"] == again["id"] and again["created"] is False
        engine = server.engine
        assert [await engine.position("chat", i) for i in ids] == [1, 2, 3], "waiting work kept its place"
        assert await engine.position("chat", retried["id"]) == 4
        assert await server.pool.fetchval("SELECT count(*) FROM interactions") == 4
    finally:
        await server.stop()
        await asyncio.to_thread(pg.stop)
