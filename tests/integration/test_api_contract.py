"""The HTTP contract: idempotent ingest under concurrent repeats, problem+json for bad input with
nothing stored, roles and the agent's view, identity resolution, and the operational endpoints."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import TestServer


async def counts(server: TestServer) -> dict[str, int]:
    out = {}
    for table in ("customers", "identities", "interactions", "messages", "journey_events", "conversations"):
        out[table] = await server.pool.fetchval(f"SELECT count(*) FROM {table}")
    return out


async def test_concurrent_repeats_of_one_event_create_one_interaction(server: TestServer) -> None:
    body = {
        "channel": "voice",
        "external_id": "CA-dup",
        "from": {"kind": "phone", "value": "+447700900123"},
        "queue": "general",
    }
    results = await asyncio.gather(
        *(server.request("POST", "/v1/interactions", body, role="adapter") for _ in range(25))
    )
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] * 24 + [201]
    assert len({b["id"] for _, b in results}) == 1
    assert (await counts(server))["interactions"] == 1
    assert (await counts(server))["customers"] == 1


async def test_concurrent_first_contacts_from_one_new_number_make_one_customer(server: TestServer) -> None:
    async def one(n: int) -> dict[str, Any]:
        return await server.ingest(
            channel="sms",
            external_id=f"SM{n}",
            queue="chat",
            join_open=False,
            **{"from": {"kind": "phone", "value": "+1 (415) 555-0199"}},
            content=f"m{n}",
        )

    results = await asyncio.gather(*(one(n) for n in range(10)))
    assert len({r["customer_id"] for r in results}) == 1
    assert len({r["id"] for r in results}) == 10


async def test_identity_resolution_links_phone_whatsapp_and_email_hints(server: TestServer) -> None:
    call = await server.ingest(
        channel="voice", queue="general", **{"from": {"kind": "phone", "value": "+4915112345678"}}
    )
    wa = await server.ingest(
        channel="social",
        queue="chat",
        **{"from": {"kind": "whatsapp", "value": "4915112345678"}},
        content="hi",
    )
    web = await server.ingest(
        channel="chat",
        queue="chat",
        content="hello",
        **{"from": {"kind": "chat_visitor", "value": "v-77"}},
        # a signed-in visitor: the page vouches for these facts (unverified ones link no one)
        customer={
            "name": "Mia Weber",
            "phone": "+49 151 12345678",
            "email": "Mia@Example.com",
            "verified": True,
        },
    )
    mail = await server.ingest(
        channel="email",
        queue="general",
        content="hello",
        **{"from": {"kind": "email", "value": "mia@example.COM"}},
    )
    assert call["customer_id"] == wa["customer_id"] == web["customer_id"] == mail["customer_id"]
    sup = await server.token("supervisor")
    status, ctx = await server.request("GET", f"/v1/customers/{call['customer_id']}/context", token=sup)
    assert status == 200
    assert ctx["customer"]["name"] == "Mia Weber"
    keys = {(i["kind"], i["value"]) for i in ctx["identities"]}
    assert keys == {("phone", "+4915112345678"), ("chat_visitor", "v-77"), ("email", "mia@example.com")}
    assert [i["channel"] for i in ctx["interactions"]] == ["email", "chat", "social", "voice"]


async def test_bad_input_is_problem_json_and_stores_nothing(server: TestServer) -> None:
    before = await counts(server)
    adapter = await server.token("adapter")
    cases: list[tuple[Any, str | None]] = [
        ({"channel": "fax", "external_id": "x", "from": {"kind": "phone", "value": "+1"}}, "channel"),
        ({"channel": "voice", "from": {"kind": "phone", "value": "+1555"}}, "external_id"),
        # (an impossible number is no identity but still a contact: tests/integration/test_identity.py)
        (
            {"channel": "voice", "external_id": "x", "from": {"kind": "Phone No", "value": "+15550100"}},
            "from",
        ),
        (
            {
                "channel": "voice",
                "external_id": "x",
                "from": {"kind": "phone", "value": "+1555"},
                "queue": "nope",
            },
            "queue",
        ),
        (
            {
                "channel": "email",
                "external_id": "x",
                "from": {"kind": "email", "value": "a@b"},
                "queue": "voice_billing",
            },
            "channel",
        ),
        (
            {
                "channel": "voice",
                "external_id": "x",
                "from": {"kind": "phone", "value": "+1555"},
                "priority": 1000,
            },
            "priority",
        ),
        (
            {
                "channel": "voice",
                "external_id": "x",
                "from": {"kind": "phone", "value": "+1555"},
                "surprise": 1,
            },
            "surprise",
        ),
    ]
    for payload, field in cases:
        status, body = await server.request("POST", "/v1/interactions", payload, token=adapter)
        assert status == 422, (payload, body)
        assert server.last_content_type == "application/problem+json"
        assert body["status"] == 422 and body["title"]
        assert any(field in json.dumps(e["loc"]) for e in body["errors"]), (field, body)
    status, body = await server.request("POST", "/v1/interactions", raw=b"{not json", token=adapter)
    assert status == 422 and "JSON" in body["detail"]
    assert await counts(server) == before
    # a queue update with a bad body changes nothing either
    status, body = await server.request(
        "PUT", "/v1/queues/general", {"skills": {"x": 11}, "channels": []}, token=server.admin_token
    )
    assert status == 422 and {e["loc"][0] for e in body["errors"]} == {"skills", "channels"}
    assert server.directory.queues["general"].skills == {"general": 1}


async def test_tokens_and_roles(server: TestServer) -> None:
    assert (await server.request("POST", "/v1/interactions", {}))[0] == 401
    assert (await server.request("POST", "/v1/interactions", {}, token="nope"))[0] == 401
    agent = await server.token("agent", "carol")
    status, body = await server.request("POST", "/v1/interactions", {}, token=agent)
    assert status == 403 and body["title"]
    status, _ = await server.request("PUT", "/v1/queues/x", {"channels": ["chat"]}, token=agent)
    assert status == 403
    status, body = await server.request("POST", "/v1/tokens", {"role": "agent"}, token=server.admin_token)
    assert status == 422
    status, body = await server.request(
        "POST", "/v1/tokens", {"role": "agent", "agent_id": "ghost"}, token=server.admin_token
    )
    assert status == 422


async def test_agent_token_cannot_open_another_agents_socket_or_read_other_customers(
    server: TestServer,
) -> None:
    carol_token = await server.token("agent", "carol")
    async with aiohttp.ClientSession() as s:
        ws_url = server.url.replace("http", "ws") + f"/v1/agents/bob/socket?token={carol_token}"
        try:
            await s.ws_connect(ws_url)
            raise AssertionError("carol opened bob's socket")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 403
        try:
            await s.ws_connect(server.url.replace("http", "ws") + "/v1/agents/bob/socket")
            raise AssertionError("a socket opened without a token")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 401
    served = await server.ingest(
        channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "served"}}
    )
    other = await server.ingest(
        channel="voice",
        queue="general",  # carol takes no calls
        **{"from": {"kind": "phone", "value": "+15550100"}},
    )
    path = "/v1/customers/{}/context"
    assert (await server.request("GET", path.format(served["customer_id"]), token=carol_token))[0] == 403
    carol = await server.agent("carol")
    offer = await carol.next("offer")
    # an open offer lets the agent read that customer (the offer carries the context anyway)
    assert (await server.request("GET", path.format(served["customer_id"]), token=carol_token))[0] == 200
    await carol.call({"type": "accept", "offer_id": offer["offer_id"]})
    status, ctx = await server.request("GET", path.format(served["customer_id"]), token=carol_token)
    assert status == 200 and ctx["customer"]["id"] == served["customer_id"]
    assert (await server.request("GET", path.format(other["customer_id"]), token=carol_token))[0] == 403
    assert (await server.request("GET", f"/v1/interactions/{other['id']}", token=carol_token))[0] == 403
    await carol.close()


async def test_malformed_frames_get_error_frames_and_the_socket_stays_open(server: TestServer) -> None:
    carol = await server.agent("carol", available=False)
    for bad in [
        "not json",
        "[]",
        '{"type": "dance"}',
        '{"type": "accept"}',
        '{"type": "set_state", "state": "x"}',
        '{"type": "complete", "interaction_id": "' + str(uuid.uuid4()) + '", "ref": "k1"}',
    ]:
        await carol.send_raw(bad)
        err = await carol.next("error")
        assert err["code"] in ("invalid_frame", "not_found"), err
    assert err["ref"] == "k1"
    assert (await carol.call({"type": "ping"}))["type"] == "ack"
    await carol.close()


async def test_admin_api_changes_routing_live_and_lists_state(server: TestServer) -> None:
    admin = server.admin_token
    status, q = await server.request(
        "PUT",
        "/v1/queues/spanish",
        {
            "skills": {"spanish": 3},
            "channels": ["chat"],
            "priority": 5,
            "offer_timeout_seconds": 10,
            "wrapup_seconds": 0,
        },
        token=admin,
    )
    assert status == 201 and q["id"] == "spanish"
    status, a = await server.request(
        "PUT",
        "/v1/agents/diego",
        {"name": "Diego", "skills": {"spanish": 8}, "capacity": {"chat": 2}},
        token=admin,
    )
    assert status == 201 and a["capacity"]["chat"] == 2 and a["capacity"]["voice"] == 1
    it = await server.ingest(
        channel="chat", queue="spanish", content="hola", **{"from": {"kind": "chat_visitor", "value": "es-1"}}
    )
    diego = await server.agent("diego")
    assert (await diego.next("offer"))["interaction"]["id"] == it["id"]
    sup = await server.token("supervisor")
    status, queues = await server.request("GET", "/v1/queues", token=sup)
    assert status == 200
    spanish = next(x for x in queues if x["id"] == "spanish")
    assert spanish["stats"]["waiting"] == 0 and spanish["skills"] == {"spanish": 3}
    status, agents = await server.request("GET", "/v1/agents", token=sup)
    d = next(x for x in agents if x["id"] == "diego")
    assert (
        d["live"]["connected"] is True
        and d["live"]["state"] == "available"
        and d["live"]["load"]["chat"] == 1
    )
    await diego.close()


async def test_health_metrics_openapi(server: TestServer) -> None:
    status, health = await server.request("GET", "/healthz")
    assert status == 200 and health["checks"] == {"postgres": "ok", "redis": "ok", "index": "ready"}
    await server.ingest(
        channel="chat", queue="chat", content="x", **{"from": {"kind": "chat_visitor", "value": "m"}}
    )
    assert server.session is not None
    async with server.session.get(server.url + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]

    def value(name: str, **labels: str) -> float:
        [found] = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
        return float(found)

    assert value("omniroute_interactions_ingested_total", channel="chat", created="true") == 1
    assert value("omniroute_queue_waiting", queue="chat") == 1
    status, doc = await server.request("GET", "/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert "InboundEvent" in doc["components"]["schemas"]
    assert "post" in doc["paths"]["/v1/interactions"]


async def test_journey_events_join_the_context(server: TestServer) -> None:
    it = await server.ingest(
        channel="chat", queue="chat", content="x", **{"from": {"kind": "chat_visitor", "value": "j"}}
    )
    status, _ev = await server.request(
        "POST",
        f"/v1/customers/{it['customer_id']}/events",
        {"type": "page_view", "data": {"url": "/pricing"}},
        role="adapter",
    )
    assert status == 201
    status, ctx = await server.request("GET", f"/v1/customers/{it['customer_id']}/context", role="supervisor")
    assert ctx["events"][0]["type"] == "page_view" and ctx["events"][0]["data"] == {"url": "/pricing"}
    status, _ = await server.request(
        "POST", f"/v1/customers/{uuid.uuid4()}/events", {"type": "x"}, role="adapter"
    )
    assert status == 404
