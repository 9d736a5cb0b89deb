"""Bad input over HTTP gets a 4xx problem that names the field, and nothing is stored; text a customer
wrote is stored without the characters PostgreSQL cannot hold, the rest exactly as sent.

Each case sends one bad body (NUL, a lone surrogate, NaN, deep nesting, a broken encoding, a bearer
token outside ASCII) to an endpoint that takes it, and compares the row count of every table before
and after."""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from router.contracts import MAX_JSON_DEPTH, parse_json
from tests.support.servers import TestServer

NUL = "\x00"
LONE = "\ud800"
# text from real customers: emoji (with a skin tone and a joiner), right-to-left, combining marks, CJK
KEPT = "Hi 👋🏽 👩‍👩‍👧 שלום عربى e\u0301 ñ 漢字 ｶﾀｶﾅ"


async def row_counts(server: TestServer) -> dict[str, int]:
    tables = await server.pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
    )
    return {
        t["tablename"]: await server.pool.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"') for t in tables
    }


def chat(**extra: Any) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": "chat",
        "external_id": uuid.uuid4().hex,
        "from": {"kind": "chat_visitor", "value": "visitor-" + uuid.uuid4().hex[:8]},
        "content": "hello",
        **extra,
    }


@dataclass
class Case:
    name: str
    method: str
    path: str
    body: Any
    loc: list[Any] | None  # None: the body as a whole is refused (no field to name)
    role: str = "adapter"
    status: int = 422
    raw: bytes | None = field(default=None, repr=False)


async def send(server: TestServer, case: Case, token: str) -> tuple[int, str, Any]:
    data = case.raw if case.raw is not None else json.dumps(case.body).encode()
    assert server.session is not None
    async with server.session.request(
        case.method,
        server.url + case.path,
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    ) as resp:
        return resp.status, resp.content_type, await resp.json(content_type=None)


async def assert_refused(server: TestServer, case: Case) -> None:
    token = server.admin_token if case.role == "admin" else await server.token(case.role)
    before = await row_counts(server)
    status, content_type, problem = await send(server, case, token)
    assert status == case.status, (case.name, status, problem)
    assert content_type == "application/problem+json", case.name
    assert problem["status"] == case.status and problem["title"], case.name
    if case.loc is not None:
        locs = [e["loc"] for e in problem.get("errors", [])]
        assert case.loc in locs, (case.name, locs)
    assert await row_counts(server) == before, f"{case.name}: something was stored"


async def test_every_other_field_refuses_nul_and_lone_surrogates(server: TestServer) -> None:
    held = await server.ingest(**chat())
    customer = held["customer_id"]
    cases = [
        Case("external_id", "POST", "/v1/interactions", chat(external_id="a" + NUL), ["external_id"]),
        Case("external_id lone", "POST", "/v1/interactions", chat(external_id="a" + LONE), ["external_id"]),
        Case(
            "from.value",
            "POST",
            "/v1/interactions",
            chat(**{"from": {"kind": "chat_visitor", "value": "v" + NUL}}),
            ["from", "value"],
        ),
        Case(
            "customer.email",
            "POST",
            "/v1/interactions",
            chat(customer={"email": "a" + NUL + "@example.com"}),
            ["customer", "email"],
        ),
        Case(
            "customer.phone",
            "POST",
            "/v1/interactions",
            chat(customer={"phone": "+1555" + NUL}),
            ["customer", "phone"],
        ),
        Case(
            "attribute value",
            "POST",
            "/v1/interactions",
            chat(attributes={"intent": "billing", "note": "x" + NUL}),
            ["attributes", "note"],
        ),
        Case(
            "attribute key",
            "POST",
            "/v1/interactions",
            chat(attributes={"k" + NUL: "v"}),
            ["attributes", "k" + NUL],
        ),
        Case(
            "nested attribute",
            "POST",
            "/v1/interactions",
            chat(attributes={"tags": ["ok", {"deep": LONE}]}),
            ["attributes", "tags", 1, "deep"],
        ),
        Case(
            "thread_refs",
            "POST",
            "/v1/interactions",
            chat(thread_refs=["<a" + NUL + ">"]),
            ["thread_refs", 0],
        ),
        Case(
            "message_external_id",
            "POST",
            "/v1/interactions",
            chat(message_external_id="m" + NUL),
            ["message_external_id"],
        ),
        Case("conversation_id", "POST", "/v1/interactions", chat(conversation_id=NUL), ["conversation_id"]),
        Case(
            "attachment filename",
            "POST",
            "/v1/interactions",
            chat(attachments=[{"filename": "a" + NUL + ".png"}]),
            ["attachments", 0, "filename"],
        ),
        Case(
            "message external_id",
            "POST",
            f"/v1/interactions/{held['id']}/messages",
            {"body": "hi", "external_id": "w" + NUL},
            ["external_id"],
        ),
        Case(
            "end reason", "POST", f"/v1/interactions/{held['id']}/end", {"reason": "gone" + NUL}, ["reason"]
        ),
        Case(
            "journey data",
            "POST",
            f"/v1/customers/{customer}/events",
            {"type": "page_view", "data": {"url": "/x" + NUL}},
            ["data", "url"],
        ),
        Case(
            "journey data lone",
            "POST",
            f"/v1/customers/{customer}/events",
            {"type": "page_view", "data": {"path": [LONE]}},
            ["data", "path", 0],
        ),
        Case(
            "token name",
            "POST",
            "/v1/tokens",
            {"role": "supervisor", "name": "wall" + NUL},
            ["name"],
            role="admin",
        ),
        Case("queue name", "PUT", "/v1/queues/q9", {"name": "Q" + NUL}, ["name"], role="admin"),
        Case("agent name", "PUT", "/v1/agents/a9", {"name": "A" + NUL}, ["name"], role="admin"),
        Case(
            "rule condition",
            "PUT",
            "/v1/rules",
            {"rules": [{"when": {"intent": "x" + NUL}, "queue": "general"}]},
            ["rules", 0, "when", "intent"],
            role="admin",
        ),
        Case(
            "receipt external_id",
            "POST",
            "/v1/messages/status",
            {"external_id": "x" + NUL, "status": "delivered"},
            ["external_id"],
        ),
        Case(
            "receipt detail",
            "POST",
            "/v1/messages/status",
            {"external_id": "x", "status": "failed", "detail": "bounced" + NUL},
            ["detail"],
        ),
    ]
    for case in cases:
        await assert_refused(server, case)


async def test_the_find_query_refuses_nul(server: TestServer) -> None:
    status, problem = await server.request(
        "GET", "/v1/interactions?channel=chat&external_id=a%00b", role="adapter"
    )
    assert status == 422 and server.last_content_type == "application/problem+json"
    assert ["query", "external_id"] in [e["loc"] for e in problem["errors"]]


async def test_bodies_that_are_not_acceptable_json(server: TestServer) -> None:
    deep = '{"x": ' * 1000 + "1" + "}" * 1000
    just_too_deep: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH):  # with the body itself: one level past the limit
        just_too_deep = [just_too_deep]
    cases = [
        Case("NaN", "POST", "/v1/interactions", None, None, raw=b'{"attributes": {"score": NaN}}'),
        Case("Infinity", "POST", "/v1/interactions", None, None, raw=b'{"attributes": {"x": -Infinity}}'),
        Case(
            "nested 1,000 deep",
            "POST",
            "/v1/interactions",
            None,
            None,
            raw=json.dumps(chat(attributes={})).replace("{}", deep).encode(),
        ),
        Case(
            "nested past the limit", "POST", "/v1/interactions", chat(attributes={"a": just_too_deep}), None
        ),
        Case(
            "nested 100,000 deep",
            "POST",
            "/v1/interactions",
            None,
            None,
            raw=b"[" * 100_000 + b"]" * 100_000,
        ),
        Case("not UTF-8", "POST", "/v1/interactions", None, None, status=400, raw=b'{"content": "\xff\xfe"}'),
        Case(
            "journey data nested",
            "POST",
            "/v1/customers/00000000-0000-0000-0000-000000000000/events",
            None,
            None,
            raw=('{"type": "x", "data": ' + deep + "}").encode(),
        ),
    ]
    for case in cases:
        await assert_refused(server, case)
    # nesting up to the limit is fine
    ok: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH - 3):  # body, attributes, key
        ok = [ok]
    status, _ = await server.request("POST", "/v1/interactions", chat(attributes={"a": ok}), role="adapter")
    assert status == 201
    assert parse_json(json.dumps({"s": "[[[[" * 50})) == {"s": "[[[[" * 50}, (
        "brackets in strings do not count"
    )


async def test_a_garbage_gzip_body_is_400(server: TestServer) -> None:
    token = await server.token("adapter")
    before = await row_counts(server)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.url + "/v1/interactions",
            data=b"this is not gzip at all",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
        ) as resp,
    ):
        assert resp.status == 400
        assert resp.content_type == "application/problem+json"
        assert (await resp.json(content_type=None))["status"] == 400
    # a real gzip body is read as usual
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.url + "/v1/interactions",
            data=gzip.compress(json.dumps(chat()).encode()),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
        ) as resp,
    ):
        assert resp.status == 201, await resp.text()
    after = await row_counts(server)
    assert after["interactions"] == before["interactions"] + 1


async def test_a_bearer_token_outside_ascii_is_401(server: TestServer) -> None:
    for token in ("ключ", "admin-é", server.admin_token + "é", "x\u200by"):
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                server.url + "/v1/queues",
                headers={"Authorization": ("Bearer " + token).encode().decode("latin-1")},
            ) as resp,
        ):
            assert resp.status == 401, (token, await resp.text())
            assert resp.content_type == "application/problem+json"
    status, _ = await server.request("GET", "/v1/queues", token=server.admin_token)
    assert status == 200


async def test_a_receipt_that_takes_another_messages_provider_id_is_409(server: TestServer) -> None:
    it = await server.ingest(**chat())
    ids = []
    for n in range(2):
        status, m = await server.request(
            "POST",
            f"/v1/interactions/{it['id']}/messages",
            {"body": f"line {n}"},
            role="adapter",
        )
        assert status == 201, m
        ids.append(m["id"])
    status, _ = await server.request(
        "POST", f"/v1/messages/{ids[0]}/status", {"status": "sent", "external_id": "wamid.1"}, role="adapter"
    )
    assert status == 200
    status, problem = await server.request(
        "POST", f"/v1/messages/{ids[1]}/status", {"status": "sent", "external_id": "wamid.1"}, role="adapter"
    )
    assert status == 409, problem
    assert server.last_content_type == "application/problem+json"
    assert ["external_id"] in [e["loc"] for e in problem["errors"]]
    row = await server.pool.fetchrow(
        "SELECT status, external_id FROM messages WHERE id = $1", uuid.UUID(ids[1])
    )
    assert row["external_id"] is None and row["status"] != "sent", "the refused receipt changed nothing"


async def test_customer_text_is_stored_without_what_postgres_cannot_hold(server: TestServer) -> None:
    sent = f"{NUL}{KEPT}{LONE} ok{NUL}"
    it = await server.ingest(
        **chat(
            content=sent,
            subject="Re:" + NUL + " order " + "\udfff" + "42",
            customer={"name": "Zo" + NUL + "ë 🌸"},
        )
    )
    assert it["created"] is True
    body = await server.pool.fetchval(
        "SELECT body FROM messages WHERE interaction_id = $1", uuid.UUID(it["id"])
    )
    assert body == f"{KEPT} ok"
    subject = await server.pool.fetchval(
        "SELECT subject FROM interactions WHERE id = $1", uuid.UUID(it["id"])
    )
    assert subject == "Re: order 42"
    name = await server.pool.fetchval(
        "SELECT name FROM customers WHERE id = $1", uuid.UUID(it["customer_id"])
    )
    assert name == "Zoë 🌸"
    # a later message posted by the adapter, and an agent's reply posted over HTTP
    status, m = await server.request(
        "POST", f"/v1/interactions/{it['id']}/messages", {"body": "again" + NUL + LONE + " ✓"}, role="adapter"
    )
    assert status == 201 and m["body"] == "again ✓"
    carol = await server.agent("carol")
    await carol.accept_next()
    token = await server.token("agent", "carol")
    status, reply = await server.request(
        "POST", f"/v1/interactions/{it['id']}/messages", {"body": "مرحبا" + NUL + " 🙂"}, token=token
    )
    assert status == 201, reply
    stored = await server.pool.fetchval("SELECT body FROM messages WHERE id = $1", uuid.UUID(reply["id"]))
    assert stored == "مرحبا 🙂"
    await carol.close()
