"""Load shedding: past ``[server] max_inflight`` requests that create work in flight, ingest answers 503
problem+json with ``Retry-After`` at once and records nothing; every admitted request completes; after the
burst ingest works again; ``omniroute_requests_shed_total`` counts the refusals. The event loop's lateness
is measured on the real loop."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import asyncpg
import pytest

from adapters.kit.webhooks import RouterUnavailable, ingest
from router.config import ServerSection
from router.contracts import InboundEvent
from router.http.shedding import ADMISSION, Admission
from router.metrics import METRICS, Metrics
from router.routing.events import Dispatcher
from router.sdk.client import RouterClient
from tests.conftest import MakeServer, Services
from tests.support.configs import DEFAULT
from tests.support.servers import TestServer


def chat(external_id: str) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": "chat",
        "external_id": external_id,
        "from": {"kind": "chat_visitor", "value": f"visitor-{external_id}"},
        "content": "hello",
    }


async def post(server: TestServer, token: str, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    assert server.session is not None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with server.session.post(
        server.url + "/v1/interactions", data=json.dumps(event), headers=headers
    ) as resp:
        return resp.status, dict(resp.headers), await resp.json(content_type=None)


async def recorded(server: TestServer, external_ids: list[str]) -> set[str]:
    rows = await server.pool.fetch(
        "SELECT external_id FROM interactions WHERE external_id = ANY($1::text[])", external_ids
    )
    return {r["external_id"] for r in rows}


async def test_a_burst_past_max_inflight_is_refused_whole_and_the_admitted_complete(
    make_server: MakeServer,
) -> None:
    server = await make_server(DEFAULT.with_server(max_inflight=2, overload_retry_after_seconds=3))
    token = await server.token("adapter")
    burst = [f"burst-{uuid.uuid4().hex[:8]}-{n}" for n in range(10)]
    # the slow path: the interactions table is locked, so the first ingests to get in wait inside
    # their handlers (in flight) until it is released
    async with server.pool.acquire() as con, con.transaction():
        await con.execute("LOCK TABLE interactions IN ACCESS EXCLUSIVE MODE")
        tasks = {eid: asyncio.create_task(post(server, token, chat(eid))) for eid in burst}
        refused: dict[str, tuple[int, dict[str, str], Any]] = {}
        deadline = time.monotonic() + 30
        while len(refused) < 8 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            refused = {eid: t.result() for eid, t in tasks.items() if t.done()}
        assert len(refused) == 8, {eid: t.done() for eid, t in tasks.items()}
        admitted = [eid for eid in burst if eid not in refused]
        assert not any(tasks[eid].done() for eid in admitted)  # still held by the lock
        assert server.server[ADMISSION].inflight == 2
        for status, headers, problem in refused.values():
            assert status == 503
            assert headers["Retry-After"] == "3"
            assert headers["Content-Type"].startswith("application/problem+json")
            assert problem["type"].endswith("/overloaded")
            assert problem["status"] == 503
    done = await asyncio.gather(*(tasks[eid] for eid in admitted))
    assert [status for status, _, _ in done] == [201, 201]
    assert server.server[ADMISSION].inflight == 0
    # nothing half-written: the admitted are in the record, the refused are not
    assert await recorded(server, burst) == set(admitted)
    assert server.server[METRICS].value("requests_shed_total", reason="inflight") == 8
    # after the burst, ingest works, the refused ones' retries included
    again = await asyncio.gather(*(post(server, token, chat(eid)) for eid in list(refused)[:2]))
    assert [status for status, _, _ in again] == [201, 201]
    assert await recorded(server, burst) == {*admitted, *list(refused)[:2]}


async def test_routes_that_finish_work_are_never_shed(make_server: MakeServer) -> None:
    server = await make_server(DEFAULT.with_server(max_inflight=1))
    made = await server.ingest(**chat(f"end-{uuid.uuid4().hex[:8]}"))
    admission = server.server[ADMISSION]
    admission.inflight = 1  # as if one ingest were in flight: new work is refused...
    try:
        status, headers, _ = await post(server, await server.token("adapter"), chat(uuid.uuid4().hex))
        assert (status, headers["Retry-After"]) == (503, "1")
        # ...but ending an interaction, which frees work, is admitted
        status, body = await server.request(
            "POST", f"/v1/interactions/{made['id']}/end", {"reason": "customer_left"}, role="adapter"
        )
        assert status == 200, body
    finally:
        admission.inflight = 0


async def test_max_inflight_zero_never_sheds(make_server: MakeServer) -> None:
    server = await make_server(DEFAULT.with_server(max_inflight=0))
    server.server[ADMISSION].inflight = 10_000
    assert server.server[ADMISSION].refusal() is None
    await server.ingest(**chat(uuid.uuid4().hex))


async def test_a_backlog_of_events_past_its_cap_refuses_new_work(make_server: MakeServer) -> None:
    server = await make_server(DEFAULT.with_server(max_event_backlog=5))
    admission = server.server[ADMISSION]
    assert admission.event_backlog() == 0  # the app's own dispatcher, idle
    token = await server.token("adapter")
    backlog = 6
    admission_backlog = admission.event_backlog
    admission.event_backlog = lambda: backlog
    try:
        status, headers, problem = await post(server, token, chat(uuid.uuid4().hex))
        assert (status, headers["Retry-After"]) == (503, "1")
        assert "events wait to be handled" in problem["detail"]
        assert server.server[METRICS].value("requests_shed_total", reason="event_backlog") == 1
        backlog = 5  # at the cap, not past it
        status, _, _ = await post(server, token, chat(uuid.uuid4().hex))
        assert status == 201
    finally:
        admission.event_backlog = admission_backlog


async def test_the_dispatcher_counts_the_events_it_has_not_handled_yet() -> None:
    release = asyncio.Event()
    handled: list[str] = []

    async def handler(event_id: str, kind: str, data: dict[str, Any]) -> None:
        await release.wait()
        handled.append(event_id)

    dispatcher = Dispatcher(handler)
    for n, agent in enumerate(["a", "a", "b", ""]):
        dispatcher.submit(f"{n}-0", "offer", {"agent_id": agent} if agent else {})
    await asyncio.sleep(0.01)
    assert dispatcher.pending == 4
    release.set()
    await dispatcher.drain()
    assert dispatcher.pending == 0
    assert sorted(handled) == ["0-0", "1-0", "2-0", "3-0"]


async def test_the_loop_lag_is_measured_on_the_running_loop_and_refuses_past_its_limit() -> None:
    admission = Admission(ServerSection(max_loop_lag_ms=100), Metrics())
    watcher = asyncio.create_task(admission.watch_loop())
    try:
        await asyncio.sleep(0.12)
        time.sleep(0.3)  # noqa: ASYNC251  # the loop blocked on purpose: the watcher wakes >= 250 ms late
        for _ in range(5):
            await asyncio.sleep(0)
        assert admission.lag_ms >= 250
        assert admission.refusal() == "loop_lag"
        response = admission.refused("loop_lag")
        assert response.status == 503 and response.headers["Retry-After"] == "1"
        assert admission.metrics.value("requests_shed_total", reason="loop_lag") == 1
    finally:
        watcher.cancel()


async def test_the_openapi_document_tells_ingest_clients_about_overload(server: TestServer) -> None:
    status, doc = await server.request("GET", "/v1/openapi.json")
    assert status == 200
    ingest = doc["paths"]["/v1/interactions"]["post"]["responses"]["503"]["description"]
    end = doc["paths"]["/v1/interactions/{id}/end"]["post"]["responses"]["503"]["description"]
    assert "max_inflight" in ingest and "Retry-After" in ingest
    assert "max_inflight" not in end


async def test_adapters_answer_their_provider_503_when_the_router_sheds(
    make_server: MakeServer,
) -> None:
    """The adapter kit maps the router's 503 to RouterUnavailable, which webhook handlers answer 503."""
    server = await make_server(DEFAULT.with_server(max_inflight=1))
    server.server[ADMISSION].inflight = 1
    client = RouterClient(server.url, await server.token("adapter"))
    try:
        event = InboundEvent.model_validate(chat(uuid.uuid4().hex))
        with pytest.raises(RouterUnavailable, match="503"):
            await ingest(client, "test", event)
    finally:
        server.server[ADMISSION].inflight = 0
        await client.close()
    assert server.server[METRICS].value("requests_shed_total", reason="inflight") == 1


@pytest.fixture
async def limited_database(services: Services) -> Any:
    """The session's database reached as a role that may hold 6 connections at most: PostgreSQL then
    answers "too many connections" as a full server (max_connections) does."""
    role = "limited_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(services.database_url)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 6")
        await admin.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
        await admin.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        await admin.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        url = services.database_url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)
        assert role in url, "the test database URL names the postgres role"
        yield url
    finally:
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()


async def test_postgres_out_of_connections_is_answered_503_and_records_nothing(
    limited_database: str, make_server: MakeServer, services: Services
) -> None:
    server = await make_server(DEFAULT.with_server(max_inflight=0), database_url=limited_database)
    token = await server.token("adapter")
    burst = [f"full-{uuid.uuid4().hex[:8]}-{n}" for n in range(12)]
    admin = await asyncpg.connect(services.database_url)
    try:
        # the ingests to get in wait on the locked table, each holding one of the role's connections,
        # until the pool asks PostgreSQL for one more than the role may have
        async with admin.transaction():
            await admin.execute("LOCK TABLE interactions IN ACCESS EXCLUSIVE MODE")
            tasks = {eid: asyncio.create_task(post(server, token, chat(eid))) for eid in burst}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(t.done() for t in tasks.values()):
                await asyncio.sleep(0.05)
        answers = {eid: await t for eid, t in tasks.items()}
    finally:
        await admin.close()
    statuses = sorted(status for status, _, _ in answers.values())
    assert 500 not in statuses, statuses
    refused = {eid for eid, (status, _, _) in answers.items() if status == 503}
    assert refused, f"no ingest found PostgreSQL full: {statuses}"
    for eid in refused:
        _, headers, body = answers[eid]
        assert headers.get("Retry-After"), headers
        assert body["status"] == 503
    assert {eid for eid, (status, _, _) in answers.items() if status in (200, 201)} == set(burst) - refused
    assert await recorded(server, burst) == set(burst) - refused, "a refused ingest recorded nothing"
    # the retry an adapter makes is taken once connections are free again
    again = refused.pop()
    status, _, _ = await post(server, token, chat(again))
    assert status == 201


async def test_the_dispatcher_handles_a_burst_in_order_without_a_turn_per_event() -> None:
    handled: dict[str, list[int]] = {"": [], "a": [], "b": []}
    gate = asyncio.Event()

    async def handler(event_id: str, kind: str, data: dict[str, Any]) -> None:
        if kind == "offer":  # waits, as an offer's context read does
            await gate.wait()
        handled[str(data.get("agent_id") or "")].append(int(event_id.split("-")[0]))

    dispatcher = Dispatcher(handler)
    dispatcher.submit("0-0", "offer", {"agent_id": "a"})
    for n in range(1, 1001):
        dispatcher.submit(f"{n}-0", "enqueued", {"agent_id": "a"} if n % 10 == 0 else {})
    # one turn of the loop: the thousand events that name no agent are handled back to back, while
    # agent a's waiting offer holds only a's own events behind it
    await asyncio.sleep(0)
    assert handled[""] == [n for n in range(1, 1001) if n % 10]
    assert handled["a"] == [] and dispatcher.pending == 101
    dispatcher.submit("1001-0", "enqueued", {"agent_id": "b"})
    gate.set()
    await dispatcher.drain()
    assert handled["a"] == [0, *range(10, 1001, 10)]
    assert handled["b"] == [1001] and dispatcher.pending == 0
