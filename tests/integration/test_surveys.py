"""Survey answers over HTTP: recorded with the interaction, shown in the context record ("NPS 3 after
the last call") and on the journey; a score off the kind's scale is a 422 and stores nothing; the
first answer stands. An e-mail survey is a signed link to a one-question page."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
import pytest

from router.contracts import SurveyKind
from router.service.survey_links import LinkClaim, SurveyLinks
from tests.conftest import MakeServer
from tests.support.configs import ADAPTERS_BASE
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


EMAIL_SURVEY = ADAPTERS_BASE.with_server(public_url="https://help.example.com").queue(
    "general", survey={"kind": "nps", "channel": "same"}
)


async def emailed_survey_link(make_server: MakeServer) -> tuple[TestServer, str, str]:
    """A completed e-mail conversation of a queue with an NPS survey: the server, the interaction and the
    signed link the survey e-mail carries."""
    server = await make_server(EMAIL_SURVEY, survey_secret="a-secret-every-process-shares")
    mail = await server.ingest(
        channel="email", queue="general", subject="Invoice", content="Where is my invoice?",
        **{"from": {"kind": "email", "value": "ana@example.com"}},
    )  # fmt: skip
    carol = await server.agent("carol")
    await carol.accept_next()
    assert (await carol.call({"type": "complete", "interaction_id": mail["id"]}))["type"] == "ack"
    await carol.close()
    body = await server.pool.fetchval(
        "SELECT body FROM messages WHERE interaction_id = $1 AND direction = 'outbound'",
        uuid.UUID(mail["id"]),
    )
    assert "How likely are you to recommend us to a friend?" in body
    [link] = re.findall(r"https://help\.example\.com/survey/\S+", body)
    return server, mail["id"], link.removeprefix("https://help.example.com")


async def test_an_email_survey_is_answered_on_its_signed_page(make_server: MakeServer) -> None:
    server, mail_id, path = await emailed_survey_link(make_server)
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + path) as page:
            text = await page.text()
            assert page.status == 200 and page.content_type == "text/html"
            assert "form-action 'self'" in page.headers["Content-Security-Policy"]
        assert "How likely are you to recommend us to a friend?" in text
        assert [int(n) for n in re.findall(r'name="score" value="(\d+)"', text)] == list(range(11))

        # off the scale: the question again, nothing stored
        async with http.post(server.url + path, data={"score": "11"}) as refused:
            assert refused.status == 422 and "choose a number from 0 to 10" in await refused.text()
        assert await server.pool.fetchval("SELECT count(*) FROM surveys") == 0

        async with http.post(server.url + path, data={"score": "8", "comment": "<b>ok</b> ✓"}) as done:
            assert done.status == 200 and "Your answer was recorded" in await done.text()
        async with http.post(server.url + path, data={"score": "0"}) as again:
            assert again.status == 409
    row = await server.pool.fetchrow("SELECT interaction_id, kind, score, comment FROM surveys")
    assert (str(row["interaction_id"]), row["kind"], row["score"], row["comment"]) == (
        mail_id,
        "nps",
        8,
        "<b>ok</b> ✓",
    )
    via = await server.pool.fetchval("SELECT data->>'via' FROM journey_events WHERE type = 'survey.answered'")
    assert via == "email"


async def test_a_link_not_signed_here_or_altered_is_404(make_server: MakeServer) -> None:
    server, _, path = await emailed_survey_link(make_server)
    payload, _, signature = path.removeprefix("/survey/").partition(".")
    forged = f"/survey/{payload}.{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}"
    async with aiohttp.ClientSession() as http:
        for bad in (forged, "/survey/nonsense", f"/survey/{payload}"):
            async with http.get(server.url + bad) as page:
                assert page.status == 404, bad
            async with http.post(server.url + bad, data={"score": "9"}) as post:
                assert post.status == 404, bad
    assert await server.pool.fetchval("SELECT count(*) FROM surveys") == 0


def test_an_expired_link_is_refused() -> None:
    links = SurveyLinks("secret", "https://help.example.com", lifetime_seconds=60)
    iid = uuid.uuid4()
    token = links.token(iid, SurveyKind.csat, now=1_000_000)
    assert links.verify(token, now=1_000_059) == LinkClaim(iid, SurveyKind.csat)
    assert links.verify(token, now=1_000_061) is None
    assert SurveyLinks("another secret", "https://x", 60).verify(token, now=1_000_000) is None
