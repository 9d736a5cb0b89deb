"""Survey answers over HTTP: recorded with the interaction, shown in the context record ("NPS 3 after
the last call") and on the journey; a score off the kind's scale is a 422 and stores nothing; the
first answer stands."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.servers import TestServer


async def completed_call(server: TestServer) -> dict[str, Any]:
    it = await server.ingest(
        channel="voice", queue="general", **{"from": {"kind": "phone", "value": "+14155550123"}}
    )
    alice = await server.agent("alice")
    offer, _ = await alice.accept_next()
    assert offer["interaction"]["id"] == it["id"]
    assert (await alice.call({"type": "complete", "interaction_id": it["id"]}))["type"] == "ack"
    await alice.close()
    return it


async def test_an_answer_is_stored_and_shown_in_the_context_record(server: TestServer) -> None:
    it = await completed_call(server)
    status, body = await server.request(
        "POST", f"/v1/interactions/{it['id']}/survey", {"kind": "nps", "score": 3, "comment": "slow ☹"},
        role="adapter",
    )  # fmt: skip
    assert status == 201, body
    assert (body["kind"], body["score"], body["comment"]) == ("nps", 3, "slow ☹")
    status, record = await server.request(
        "GET", f"/v1/customers/{it['customer_id']}/context", role="supervisor"
    )
    [call] = record["interactions"]
    assert call["channel"] == "voice"
    assert call["survey"]["kind"] == "nps" and call["survey"]["score"] == 3
    assert call["survey"]["comment"] == "slow ☹"
    [event] = [e for e in record["events"] if e["type"] == "survey.answered"]
    assert event["interaction_id"] == it["id"] and event["data"]["score"] == 3

    # the first answer stands
    status, body = await server.request(
        "POST", f"/v1/interactions/{it['id']}/survey", {"kind": "nps", "score": 10}, role="adapter"
    )
    assert status == 409 and server.last_content_type == "application/problem+json"
    assert await server.pool.fetchval("SELECT score FROM surveys") == 3


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [("csat", [1, 5], [0, 6]), ("nps", [0, 10], [-1, 11]), ("ces", [1, 7], [0, 8])],
)
async def test_scores_off_the_scale_are_422(
    server: TestServer, kind: str, good: list[int], bad: list[int]
) -> None:
    first = await server.ingest(
        channel="chat", queue="general", **{"from": {"kind": "chat_visitor", "value": "v1"}}
    )
    second = await server.ingest(
        channel="chat", queue="general", **{"from": {"kind": "chat_visitor", "value": "v2"}}
    )
    for score in bad:
        status, body = await server.request(
            "POST", f"/v1/interactions/{first['id']}/survey", {"kind": kind, "score": score}, role="adapter"
        )
        assert status == 422, body
        assert server.last_content_type == "application/problem+json"
    assert await server.pool.fetchval("SELECT count(*) FROM surveys") == 0
    for it, score in zip((first, second), good, strict=True):
        status, body = await server.request(
            "POST", f"/v1/interactions/{it['id']}/survey", {"kind": kind, "score": score}, role="adapter"
        )
        assert status == 201, body
    assert sorted(r["score"] for r in await server.pool.fetch("SELECT score FROM surveys")) == good


async def test_unknown_interactions_kinds_and_roles(server: TestServer) -> None:
    it = await server.ingest(
        channel="chat", queue="general", **{"from": {"kind": "chat_visitor", "value": "v"}}
    )
    path = f"/v1/interactions/{it['id']}/survey"
    assert (await server.request("POST", path, {"kind": "stars", "score": 3}, role="adapter"))[0] == 422
    assert (await server.request("POST", path, {"kind": "csat", "score": "3x"}, role="adapter"))[0] == 422
    unknown = "/v1/interactions/00000000-0000-0000-0000-000000000000/survey"
    assert (await server.request("POST", unknown, {"kind": "csat", "score": 3}, role="adapter"))[0] == 404
    assert (
        await server.request(
            "POST", "/v1/interactions/nope/survey", {"kind": "csat", "score": 3}, role="adapter"
        )
    )[0] == 404
    assert (await server.request("POST", path, {"kind": "csat", "score": 3}, role="supervisor"))[0] == 403
    assert (await server.request("POST", path, {"kind": "csat", "score": 3}))[0] == 401
    assert await server.pool.fetchval("SELECT count(*) FROM surveys") == 0
