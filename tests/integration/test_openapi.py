"""The OpenAPI document against the running server: the same routes as aiohttp serves, the roles it
names are the roles the server refuses, and schemathesis finds no answer the document does not describe."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from router.contracts import Role
from tests.support.agents import AgentClient
from tests.support.servers import TestServer

DOCUMENTED_PREFIXES = ("/v1/",)
DOCUMENTED_PATHS = ("/healthz", "/metrics")


def served_routes(server: TestServer) -> set[tuple[str, str]]:
    """(method, path) of every route the application serves under /v1 (and /healthz, /metrics); HEAD
    routes that aiohttp adds beside a GET route are checked to be exactly that and left out."""
    served: set[tuple[str, str]] = set()
    heads: set[str] = set()
    for route in server.server.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if not (path.startswith(DOCUMENTED_PREFIXES) or path in DOCUMENTED_PATHS):
            continue
        if route.method == "HEAD":
            heads.add(path)
        else:
            served.add((route.method, path))
    gets = {path for method, path in served if method == "GET"}
    assert heads <= gets, f"HEAD routes without their GET: {heads - gets}"
    return served


async def test_the_document_lists_exactly_the_served_routes(server: TestServer) -> None:
    status, doc = await server.request("GET", "/v1/openapi.json")
    assert status == 200 and doc["openapi"] == "3.1.0"
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    served = served_routes(server)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    # the routes that drifted before the table existed
    assert ("GET", "/v1/interactions") in documented
    assert {"GET", "POST"} == {m.upper() for m in doc["paths"]["/v1/interactions"]}
    assert len(documented) == 63


async def test_every_operation_documents_its_real_answers(server: TestServer) -> None:
    _, doc = await server.request("GET", "/v1/openapi.json")
    paths = doc["paths"]
    ingest = paths["/v1/interactions"]["post"]["responses"]
    assert {"200", "201", "401", "403", "409", "413", "422", "503"} <= set(ingest)
    assert ingest["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IngestResult"
    }
    queues = paths["/v1/queues"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert queues == {"type": "array", "items": {"$ref": "#/components/schemas/QueueOut"}}
    rules = paths["/v1/rules"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert rules["type"] == "array"
    assert "409" in paths["/v1/interactions/{id}/end"]["post"]["responses"]
    assert paths["/v1/interactions/{id}/end"]["post"]["requestBody"]["required"] is False
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", "503"}
    assert paths["/healthz"]["get"]["security"] == []
    socket = paths["/v1/agents/{agent_id}/socket"]["get"]
    assert socket["x-websocket"] is True and "101" in socket["responses"]
    for path, ops in paths.items():
        for method, op in ops.items():
            for code, answer in op["responses"].items():
                if int(code) >= 400 and path != "/healthz":
                    assert list(answer["content"]) == ["application/problem+json"], (method, path, code)
            if op["x-roles"]:
                assert {"401", "503"} <= set(op["responses"]), (method, path)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def test_roles_named_in_the_document_are_the_roles_admitted(server: TestServer) -> None:
    """Every role the document does not name gets 403 from every operation."""
    _, doc = await server.request("GET", "/v1/openapi.json")
    tokens = {
        Role.admin: server.admin_token,
        Role.adapter: await server.token("adapter"),
        Role.agent: await server.token("agent", "alice"),
        Role.supervisor: await server.token("supervisor"),
    }
    checked = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if not op["x-roles"]:
                continue
            for role, token in tokens.items():
                if role.value in op["x-roles"]:
                    continue
                status, body = await server.request(method.upper(), _concrete(path), {}, token=token)
                assert status == 403, (method, path, role, status, body)
                assert server.last_content_type == "application/problem+json"
                checked += 1
            status, _ = await server.request(method.upper(), _concrete(path), {})
            assert status == 401, (method, path)
    assert checked > 20


# ---------------------------------------------------------------- schemathesis

MAX_EXAMPLES = 25
# Operations whose success the bounded generation does not reliably reach: a review needs a completed
# interaction and answers to every question of a stored form, and the known body is one strategy among
# several (tests/integration/test_quality.py covers the review's successes).
NEEDS_STATE = {
    ("post", "/v1/interactions/{id}/reviews"),
    # a waiting interaction and a valid phone number (tests/integration/test_callbacks.py)
    ("post", "/v1/interactions/{id}/callback"),
    # three weeks of a queue's history (tests/integration/test_forecast.py)
    ("get", "/v1/reports/forecast"),
}
# NUL characters are generated in every string (customer text is stored without them, any other field
# refuses them with a 422). Lone surrogates cannot be: generated strings are sent encoded in UTF-8; the
# bad-input tests send them as JSON escapes (tests/integration/test_bad_input.py).
CONFIG = schemathesis.Config.from_dict({"generation": {"allow-x00": True, "codec": "utf-8"}})
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class Known:
    """Ids that exist on the server, so that generated requests reach past 404 as well."""

    path: dict[str, dict[str, str]] = field(default_factory=dict)
    query: dict[str, dict[str, str]] = field(default_factory=dict)
    body: dict[str, dict[str, Any]] = field(default_factory=dict)


async def known_ids(server: TestServer) -> tuple[Known, AgentClient]:
    """Alice completed a call (it may be reviewed) and holds another (her token may read it and its
    customer, and write in it); a chat waits in its queue (adapters may end it); an inbound message may
    get delivery reports; a spare token may be revoked; a visitor known only by a page view may be erased."""
    alice = await server.agent("alice")
    done = await server.ingest(channel="voice", **{"from": {"kind": "phone", "value": "+15550009"}})
    await alice.accept_next()
    ack = await alice.call({"type": "complete", "interaction_id": done["id"]})
    assert ack["type"] == "ack", ack
    call = await server.ingest(
        channel="voice", attributes={"intent": "billing"}, **{"from": {"kind": "phone", "value": "+15550001"}}
    )
    await alice.accept_next()
    chat = await server.ingest(
        channel="chat", queue="chat", content="hello", **{"from": {"kind": "chat_visitor", "value": "v1"}}
    )
    waiting = await server.ingest(  # stays waiting (nobody takes the chat queue): a bot may PATCH it
        channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "v-bot"}}
    )
    status, message = await server.request(
        "POST", f"/v1/interactions/{call['id']}/messages", {"body": "hi"}, role="adapter"
    )
    assert status == 201, message
    _, found = await server.request("GET", f"/v1/interactions/{call['id']}", role="supervisor")
    status, spare = await server.request(
        "POST", "/v1/tokens", {"role": "adapter", "name": "spare"}, token=server.admin_token
    )
    assert status == 201, spare
    # a webhook at a public address (generated URLs rarely resolve to one) for an event family with no
    # events yet, so nothing is ever sent to it
    hook_body = {"url": "http://93.184.215.14/hook", "events": ["survey.*"]}
    hooks = []
    for _ in range(2):  # one to delete, one that stays for its deliveries and replays
        status, hook = await server.request("POST", "/v1/webhooks", hook_body, token=server.admin_token)
        assert status == 201, hook
        hooks.append(hook["id"])
    form = {"questions": [{"id": "greeting", "text": "Greeted", "weight": 1, "scale": 5}]}
    # generated PUTs replace the form at the known id; reviews name another one, which nothing changes
    for form_id in ("standard", "reviewed"):
        status, _ = await server.request(
            "PUT", f"/v1/quality/forms/{form_id}", form, token=server.admin_token
        )
        assert status == 201
    status, visitor = await server.request(
        "POST",
        "/v1/journey-events",
        {"identity": {"kind": "chat_visitor", "value": "v-erasable"}, "type": "page_view"},
        role="adapter",
    )
    assert status == 201, visitor
    # two more customers: one to merge into the caller, and one already merged there to unmerge
    extra = []
    for n in (2, 3):
        sender = {"kind": "phone", "value": f"+1555000{n}"}
        extra.append(
            (await server.ingest(channel="sms", queue="chat", content="x", **{"from": sender}))["customer_id"]
        )
    status, merged = await server.request(
        "POST",
        f"/v1/customers/{call['customer_id']}/merge",
        {"other_customer_id": extra[1], "reason": "same person"},
        role="supervisor",
    )
    assert status == 201, merged
    # campaigns to read, start and pause, and one to cancel (the generated ones name no real customer)
    campaign_body = {
        "id": "fuzz-new",
        "purpose": "notifications",
        "message": {"text": "A message"},
        "audience": {"customer_ids": [call["customer_id"]]},
    }
    for campaign_id in ("fuzz-run", "fuzz-cancel"):
        # fuzz-run starts in the far future: started, it runs without ever completing
        scheduled = {"start_at": "2099-01-01T00:00:00Z"} if campaign_id == "fuzz-run" else {}
        status, made = await server.request(
            "POST", "/v1/campaigns", {**campaign_body, **scheduled, "id": campaign_id}, role="supervisor"
        )
        assert status == 201, made
    known = Known(
        path={
            "/v1/interactions/{id}": {"id": call["id"]},
            "/v1/interactions/{id}/messages": {"id": call["id"]},
            "/v1/interactions/{id}/routing": {"id": call["id"]},
            "/v1/interactions/{id}/end": {"id": chat["id"]},
            "/v1/interactions/{id}/survey": {"id": call["id"]},
            "/v1/customers/{id}/context": {"id": call["customer_id"]},
            "/v1/customers/{id}/events": {"id": call["customer_id"]},
            "/v1/customers/{id}/consent": {"id": call["customer_id"]},
            "/v1/customers/{id}/consent/{channel}": {"id": call["customer_id"], "channel": "sms"},
            "/v1/customers/{id}/export": {"id": call["customer_id"]},
            "/v1/customers/{id}": {"id": visitor["customer_id"]},
            "/v1/queues/{id}": {"id": "general"},
            "/v1/agents/{id}": {"id": "alice"},
            "/v1/agents/{id}/states": {"id": "alice"},
            "/v1/messages/{id}/status": {"id": message["id"]},
            "/v1/agents/{agent_id}/socket": {"agent_id": "alice"},
            "/v1/tokens/{id}": {"id": spare["id"]},
            "/v1/webhooks/{id}": {"id": hooks[0]},
            "/v1/webhooks/{id}/deliveries": {"id": hooks[1]},
            "/v1/webhooks/{id}/replay": {"id": hooks[1]},
            "/v1/customers/{id}/merge": {"id": call["customer_id"]},
            "/v1/customers/{id}/unmerge": {"id": call["customer_id"]},
            "/v1/interactions/{id}/reviews": {"id": done["id"]},
            "/v1/interactions/{id}/audit": {"id": done["id"]},
            "/v1/agents/{id}/reviews": {"id": "alice"},
            "/v1/quality/forms/{id}": {"id": "standard"},
            "/v1/campaigns/{id}": {"id": "fuzz-run"},
            "/v1/campaigns/{id}/start": {"id": "fuzz-run"},
            "/v1/campaigns/{id}/pause": {"id": "fuzz-run"},
            "/v1/campaigns/{id}/cancel": {"id": "fuzz-cancel"},
            "/v1/campaigns/{id}/recipients": {"id": "fuzz-run"},
            "patch /v1/interactions/{id}": {"id": waiting["id"]},
        },
        query={
            "/v1/interactions": {"channel": "voice", "external_id": found["external_id"]},
            "/v1/reports/quality": {"from": "2026-01-01", "to": "2036-01-01T00:00:00Z"},
            "/v1/reports/kpis": {"from": "2026-01-01", "to": "2026-01-02"},
        },
        body={
            "/v1/webhooks": hook_body,
            "/v1/customers/{id}/merge": {"other_customer_id": extra[0], "reason": "same person"},
            "/v1/customers/{id}/unmerge": {"merge_id": merged["id"]},
            "/v1/interactions/{id}/reviews": {"form_id": "reviewed", "answers": {"greeting": 3}},
            "/v1/campaigns": campaign_body,
            "patch /v1/interactions/{id}": {"attributes": {"intent": "billing"}},
        },
    )
    return known, alice


def _fuzz(document: dict[str, Any], base_url: str, token: str, known: Known) -> dict[str, Counter[int]]:
    """Generate requests for every operation (valid and invalid data, some with ids that exist), send
    them with this token and check every answer. Returns the status codes seen per operation."""
    schema = schemathesis.openapi.from_dict(document, config=CONFIG)
    headers = {"Authorization": f"Bearer {token}"}
    seen: dict[str, Counter[int]] = {}
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            strategy = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)
            # an entry for one method ("patch /v1/…") goes before the path's own
            key = f"{operation.method} {operation.path}"
            path = key if key in known.path else operation.path
            if path in known.path:
                strategy |= operation.as_strategy(path_parameters=known.path[path])
            if operation.method == "get" and operation.path in known.query:
                strategy |= operation.as_strategy(query=known.query[operation.path])
            body = key if key in known.body else operation.path
            if operation.method != "get" and body in known.body:
                strategy |= operation.as_strategy(
                    path_parameters=known.path.get(path, {}), body=known.body[body]
                )
            seen[operation.label] = _check(strategy, session, base_url, headers)
    return seen


def _check(
    strategy: st.SearchStrategy[schemathesis.Case],
    session: requests.Session,
    base_url: str,
    headers: dict[str, str],
) -> Counter[int]:
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    return statuses


@pytest.mark.parametrize("role", [r.value for r in Role])
async def test_schemathesis_finds_no_undocumented_answer(server: TestServer, role: str) -> None:
    """Bounded and deterministic: at most 25 generated requests per operation, each answer checked for
    5xx, an undocumented status, a wrong content type, a body that does not match its schema, and
    invalid data that was accepted."""
    known, alice = await known_ids(server)
    token = (
        server.admin_token
        if role == "admin"
        else await server.token(role, "alice" if role == "agent" else None)
    )
    _, doc = await server.request("GET", "/v1/openapi.json")
    try:
        seen = await asyncio.to_thread(_fuzz, doc, server.url, token, known)
    finally:
        await alice.close()
    assert len(seen) == 63
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            statuses = seen[f"{method.upper()} {path}"]
            admitted = not op["x-roles"] or role in op["x-roles"]
            if admitted:
                # the generated requests got past authentication, so the rest was exercised
                assert set(statuses) - {401, 403}, (role, method, path, statuses)
            if role == "admin" and not op.get("x-websocket") and (method, path) not in NEEDS_STATE:
                assert any(200 <= s < 300 for s in statuses), (method, path, statuses)
