"""A queue's disposition codes: complete takes only one of them, and a refused complete changes nothing
in either store; the desktop learns each queue's list from hello."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.configs import routing
from tests.support.servers import TestServer

CONFIG = (
    routing()
    .queue("sales", skills={"s": 1}, channels=["chat"], wrapup_seconds=30, dispositions=["sold", "no_sale"])
    .queue("open", skills={"s": 1}, channels=["chat"], wrapup_seconds=30)
    .agent("x", name="X", skills={"s": 5}, capacity={"chat": 3})
)


def chat(queue: str, n: int) -> dict[str, Any]:
    return {"channel": "chat", "queue": queue, "from": {"kind": "chat_visitor", "value": f"v-{queue}-{n}"}}


async def record(server: TestServer, iid: str) -> dict[str, Any]:
    row = await server.pool.fetchrow(
        "SELECT status, disposition, summary FROM interactions WHERE id = $1", uuid.UUID(iid)
    )
    history = await server.pool.fetchval(
        "SELECT count(*) FROM interaction_history WHERE interaction_id = $1", uuid.UUID(iid)
    )
    journey = await server.pool.fetchval(
        "SELECT count(*) FROM journey_events WHERE interaction_id = $1 AND type = 'interaction.completed'",
        uuid.UUID(iid),
    )
    return {**dict(row), "history": history, "completed_events": journey}


async def test_complete_takes_only_the_queues_codes_and_a_refusal_changes_nothing(make_server: Any) -> None:
    server: TestServer = await make_server(CONFIG)
    x = await server.agent("x")
    assert x.hello["dispositions"] == {"sales": ["sold", "no_sale"]}, "queues without codes are not listed"
    it = await server.ingest(**chat("sales", 1))
    await x.accept_next()
    before = await record(server, it["id"])
    live_before = await server.engine.interaction_live(it["id"])
    assert before["status"] == "assigned" and live_before["st"] == "assigned"

    for frame in (
        {"disposition": "TOTALLY-MADE-UP code ✓", "summary": "kept?"},
        {"disposition": "SOLD"},  # codes are exact
        {"summary": "no code at all"},  # the queue lists codes: one is required
    ):
        err = await x.call({"type": "complete", "interaction_id": it["id"], **frame})
        assert err["type"] == "error" and err["code"] == "invalid", err
        assert err["errors"][0]["loc"] == ["disposition"]
        assert err["errors"][0]["allowed"] == ["sold", "no_sale"]
        assert await record(server, it["id"]) == before, "nothing written to PostgreSQL"
        assert await server.engine.interaction_live(it["id"]) == live_before, "nor to the live index"
    assert (await x.call({"type": "ping"}))["type"] == "ack", "the socket stays open"
    assert x.pending("interaction_ended") == []

    ack = await x.call(
        {"type": "complete", "interaction_id": it["id"], "disposition": "no_sale", "summary": "s"}
    )
    assert ack["type"] == "ack" and ack["result"]["wrapup_until"], ack
    after = await record(server, it["id"])
    assert (after["status"], after["disposition"], after["summary"]) == ("wrapup", "no_sale", "s")
    assert after["completed_events"] == 1
    await x.close()


async def test_a_queue_without_codes_takes_any_code_and_the_list_is_checked_when_set(
    make_server: Any,
) -> None:
    server: TestServer = await make_server(CONFIG)
    x = await server.agent("x")
    it = await server.ingest(**chat("open", 1))
    await x.accept_next()
    ack = await x.call({"type": "complete", "interaction_id": it["id"], "disposition": "anything goes"})
    assert ack["type"] == "ack", ack
    assert (await record(server, it["id"]))["disposition"] == "anything goes"

    # the list is part of the queue's configuration over the API too; codes are distinct
    base = {"skills": {"s": 1}, "channels": ["chat"]}
    status, problem = await server.request(
        "PUT", "/v1/queues/open", {**base, "dispositions": ["a", "a"]}, token=server.admin_token
    )
    assert status == 422, problem
    status, problem = await server.request(
        "PUT", "/v1/queues/open", {**base, "dispositions": [""]}, token=server.admin_token
    )
    assert status == 422, problem
    status, body = await server.request(
        "PUT", "/v1/queues/open", {**base, "dispositions": ["fixed", "not_fixed"]}, token=server.admin_token
    )
    assert status == 200 and body["dispositions"] == ["fixed", "not_fixed"]
    second = await server.ingest(**chat("open", 2))
    await x.accept_next()
    err = await x.call({"type": "complete", "interaction_id": second["id"], "disposition": "anything goes"})
    assert err["type"] == "error" and err["errors"][0]["allowed"] == ["fixed", "not_fixed"]
    await x.close()
    again = await server.agent("x")
    assert again.hello["dispositions"] == {"open": ["fixed", "not_fixed"], "sales": ["sold", "no_sale"]}
    await again.close()
