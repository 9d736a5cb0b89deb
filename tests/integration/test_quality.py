"""Quality reviews over the real server: forms validated, reviews scored by the documented formula
(a critical failure scores 0), stored with the interaction and shown in its context record and to its
agent, the quality report equal to scores computed by hand, the weekly sample, and the audit list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.servers import TestServer

FORM = {
    "name": "Chat standard",
    "questions": [
        {"id": "greeting", "text": "Greeted the customer by name", "weight": 3, "scale": 5},
        {"id": "resolution", "text": "Solved the problem", "weight": 1, "scale": 4},
        {
            "id": "identity",
            "text": "Checked the customer's identity",
            "weight": 2,
            "scale": 1,
            "critical": True,
        },
    ],
}


def hand_score(answers: dict[str, int]) -> float:
    """The documented formula, written out for this form."""
    if answers["identity"] == 0:
        return 0.0
    earned = 3 * answers["greeting"] / 5 + 1 * answers["resolution"] / 4 + 2 * answers["identity"] / 1
    return round(100 * earned / 6, 2)


async def handled_chat(server: TestServer, agent_id: str, queue: str = "chat", visitor: str = "v1") -> str:
    """A chat the agent takes and completes (the test queues have no wrap-up): its interaction id."""
    agent = await server.agent(agent_id)
    try:
        it = await server.ingest(
            channel="chat",
            queue=queue,
            content="hello",
            **{"from": {"kind": "chat_visitor", "value": visitor}},
        )
        offer, _ = await agent.accept_next()
        assert offer["interaction"]["id"] == it["id"]
        ack = await agent.call({"type": "complete", "interaction_id": it["id"]})
        assert ack["type"] == "ack", ack
    finally:
        await agent.close()
    status, body = await server.request("GET", f"/v1/interactions/{it['id']}", role="supervisor")
    assert status == 200 and body["status"] == "completed", body
    return str(it["id"])


async def put_form(server: TestServer, form_id: str = "chat-standard", form: Any = FORM) -> tuple[int, Any]:
    return await server.request("PUT", f"/v1/quality/forms/{form_id}", form, token=server.admin_token)


async def review(server: TestServer, iid: str, answers: dict[str, int], **kw: Any) -> tuple[int, Any]:
    return await server.request(
        "POST",
        f"/v1/interactions/{iid}/reviews",
        {"form_id": "chat-standard", "answers": answers},
        **kw,
    )


async def test_forms_are_validated_and_only_an_admin_defines_them(server: TestServer) -> None:
    bad_weight = {"questions": [{"id": "q", "text": "t", "weight": 0, "scale": 5}]}
    status, body = await put_form(server, form=bad_weight)
    assert status == 422 and server.last_content_type == "application/problem+json"
    assert ["questions", 0, "weight"] in [e["loc"] for e in body["errors"]]
    twice = {"questions": [{"id": "q", "text": "a", "weight": 1, "scale": 2}] * 2}
    status, body = await put_form(server, form=twice)
    assert status == 422 and "repeated: q" in str(body["errors"])
    status, _ = await put_form(server, "bad id!")
    assert status == 422
    status, body = await server.request("PUT", "/v1/quality/forms/x", FORM, role="supervisor")
    assert status == 403 and server.last_content_type == "application/problem+json"
    status, _ = await server.request("GET", "/v1/quality/forms", role="supervisor")
    assert status == 200 and _ == [], "a refused form was stored"

    status, created = await put_form(server)
    assert status == 201 and [q["critical"] for q in created["questions"]] == [False, False, True]
    changed = {**FORM, "name": "Chat standard v2"}
    status, replaced = await put_form(server, form=changed)
    assert status == 200 and replaced["name"] == "Chat standard v2"
    status, listed = await server.request("GET", "/v1/quality/forms", role="supervisor")
    assert [f["id"] for f in listed] == ["chat-standard"]
    status, one = await server.request("GET", "/v1/quality/forms/chat-standard", role="supervisor")
    assert one["questions"] == replaced["questions"]
    status, _ = await server.request("GET", "/v1/quality/forms/nope", role="supervisor")
    assert status == 404


async def test_a_review_is_scored_stored_with_the_interaction_and_shown_to_its_agent(
    server: TestServer,
) -> None:
    assert (await put_form(server))[0] == 201
    iid = await handled_chat(server, "carol")

    answers = {"greeting": 4, "resolution": 2, "identity": 1}
    status, good = await review(server, iid, answers, role="supervisor")
    assert status == 201, good
    assert good["score"] == hand_score(answers) == 81.67 and good["critical_failed"] is False
    assert good["agent_id"] == "carol" and good["queue"] == "chat"

    failed = {"greeting": 5, "resolution": 4, "identity": 0}
    status, zero = await review(server, iid, failed, token=server.admin_token)
    assert status == 201 and zero["score"] == 0 and zero["critical_failed"] is True

    # answers that do not fit the form are refused, each named, and nothing is stored
    for bad, loc in (
        ({"greeting": 4, "resolution": 2}, "identity"),
        ({**answers, "extra": 1}, "extra"),
        ({**answers, "resolution": 5}, "resolution"),
    ):
        status, body = await review(server, iid, bad, role="supervisor")
        assert status == 422 and server.last_content_type == "application/problem+json"
        assert ["answers", loc] in [e["loc"] for e in body["errors"]], body
    status, body = await server.request(
        "POST", f"/v1/interactions/{iid}/reviews", {"form_id": "nope", "answers": answers}, role="supervisor"
    )
    assert status == 422

    # an agent may not review, not even its own work
    carol = await server.token("agent", "carol")
    status, body = await review(server, iid, answers, token=carol)
    assert status == 403 and server.last_content_type == "application/problem+json"

    # stored with the interaction: its view, its context record, its agent's desktop
    status, view = await server.request("GET", f"/v1/interactions/{iid}", role="supervisor")
    assert [(r["score"], r["critical_failed"]) for r in view["reviews"]] == [(81.67, False), (0.0, True)]
    record_status, record = await server.request(
        "GET", f"/v1/customers/{view['customer_id']}/context", role="supervisor"
    )
    assert record_status == 200
    (ctx,) = [i for i in record["interactions"] if i["id"] == iid]
    assert [r["score"] for r in ctx["reviews"]] == [81.67, 0.0]
    status, mine = await server.request("GET", f"/v1/interactions/{iid}/reviews", token=carol)
    assert status == 200 and [r["answers"] for r in mine] == [answers, failed]
    status, mine = await server.request("GET", "/v1/agents/carol/reviews", token=carol)
    assert status == 200 and [r["score"] for r in mine] == [0.0, 81.67]
    bob = await server.token("agent", "bob")
    status, _ = await server.request("GET", f"/v1/interactions/{iid}/reviews", token=bob)
    assert status == 403
    status, _ = await server.request("GET", "/v1/agents/carol/reviews", token=bob)
    assert status == 403

    # replacing the form does not change stored scores
    heavier = {**FORM, "questions": [{**q, "weight": 50} for q in FORM["questions"]]}
    assert (await put_form(server, form=heavier))[0] == 200
    status, again = await server.request("GET", f"/v1/interactions/{iid}/reviews", role="supervisor")
    assert [r["score"] for r in again] == [81.67, 0.0]


async def test_only_completed_interactions_are_reviewed(server: TestServer) -> None:
    assert (await put_form(server))[0] == 201
    carol = await server.agent("carol")
    it = await server.ingest(
        channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "open"}}
    )
    await carol.accept_next()
    status, body = await review(
        server, it["id"], {"greeting": 1, "resolution": 1, "identity": 1}, role="supervisor"
    )
    assert status == 409 and server.last_content_type == "application/problem+json", body
    status, _ = await review(server, "0" * 8 + "-0000-0000-0000-" + "0" * 12, {}, role="supervisor")
    assert status in (404, 422)
    status, view = await server.request("GET", f"/v1/interactions/{it['id']}", role="supervisor")
    assert view["reviews"] == []
    await carol.close()


async def test_the_quality_report_matches_scores_computed_by_hand(server: TestServer) -> None:
    assert (await put_form(server))[0] == 201
    plan = [
        ("carol", "chat", {"greeting": 5, "resolution": 4, "identity": 1}),
        ("carol", "general", {"greeting": 2, "resolution": 1, "identity": 1}),
        ("carol", "general", {"greeting": 3, "resolution": 3, "identity": 0}),
        ("bob", "general", {"greeting": 1, "resolution": 0, "identity": 1}),
        ("bob", "general", {"greeting": 4, "resolution": 4, "identity": 1}),
    ]
    start = datetime.now(UTC) - timedelta(seconds=5)
    for n, (agent, queue, answers) in enumerate(plan):
        iid = await handled_chat(server, agent, queue, visitor=f"visitor-{n}")
        status, body = await review(server, iid, answers, role="supervisor")
        assert status == 201 and body["score"] == hand_score(answers), body
    end = datetime.now(UTC) + timedelta(seconds=5)

    def expected(key_index: int) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[float]] = {}
        for row in plan:
            groups.setdefault(row[key_index], []).append(hand_score(row[2]))  # type: ignore[arg-type]
        return {
            k: {
                "reviews": len(v),
                "average_score": round(sum(v) / len(v), 2),
                "min_score": min(v),
                "max_score": max(v),
                "critical_failures": v.count(0.0),
            }
            for k, v in groups.items()
        }

    rng = f"from={start.isoformat().replace('+00:00', 'Z')}&to={end.isoformat().replace('+00:00', 'Z')}"
    for group_by, index in (("agent", 0), ("queue", 1)):
        status, report = await server.request(
            "GET", f"/v1/reports/quality?{rng}&group_by={group_by}", role="supervisor"
        )
        assert status == 200, report
        got = {r.pop("key"): r for r in report["rows"]}
        assert got == expected(index), (group_by, got)

    # a range before the reviews holds none; bad ranges are refused
    before = start - timedelta(days=3)
    status, report = await server.request(
        "GET",
        f"/v1/reports/quality?from={before.date()}&to={(before + timedelta(days=1)).date()}",
        role="supervisor",
    )
    assert status == 200 and report["rows"] == []
    for query in (
        "from=2026-01-02",
        "from=2026-01-02&to=2026-01-01",
        "from=x&to=2026-01-01",
        f"{rng}&group_by=day",
    ):
        status, _ = await server.request("GET", f"/v1/reports/quality?{query}", role="supervisor")
        assert status == 422 and server.last_content_type == "application/problem+json", query
    status, _ = await server.request(
        "GET", f"/v1/reports/quality?{rng}", token=await server.token("agent", "carol")
    )
    assert status == 403


async def test_the_weekly_sample_draws_completed_work_per_agent(server: TestServer) -> None:
    carol_done = {await handled_chat(server, "carol", visitor=f"c{n}") for n in range(3)}
    bob_done = {await handled_chat(server, "bob", "general", visitor="b0")}
    carol = await server.agent("carol")
    open_one = await server.ingest(
        channel="chat",
        queue="chat",
        content="hi",
        **{"from": {"kind": "chat_visitor", "value": "still-open"}},
    )
    await carol.accept_next()

    seen: set[str] = set()
    for _ in range(12):
        status, sample = await server.request("GET", "/v1/quality/sample?per_agent=2", role="supervisor")
        assert status == 200, sample
        by_agent: dict[str, list[str]] = {}
        for s in sample["interactions"]:
            by_agent.setdefault(s["agent_id"], []).append(s["interaction_id"])
        assert len(by_agent["carol"]) == 2 and set(by_agent["carol"]) <= carol_done
        assert set(by_agent["bob"]) == bob_done
        assert open_one["id"] not in str(sample)
        seen |= set(by_agent["carol"])
    assert seen == carol_done, "twelve draws of two out of three never showed one of them: not random"

    this_week = datetime.now(UTC).isocalendar()
    status, sample = await server.request(
        "GET",
        f"/v1/quality/sample?week={this_week[0] - 1}-W{this_week[1]:02d}&per_agent=5",
        role="supervisor",
    )
    assert status == 200 and sample["interactions"] == []
    for query in ("week=2026-48", "week=2026-W60", "per_agent=0", "per_agent=x", "per_agent=51"):
        status, _ = await server.request("GET", f"/v1/quality/sample?{query}", role="supervisor")
        assert status == 422, query
    await carol.close()


async def test_reviews_are_in_the_audit_with_who_and_when(server: TestServer) -> None:
    assert (await put_form(server))[0] == 201
    iid = await handled_chat(server, "carol")
    status, made = await server.request(
        "POST", "/v1/tokens", {"role": "supervisor", "name": "Sam"}, token=server.admin_token
    )
    assert status == 201
    before = datetime.now(UTC) - timedelta(seconds=1)
    status, body = await review(
        server, iid, {"greeting": 1, "resolution": 1, "identity": 1}, token=made["token"]
    )
    assert status == 201
    status, entries = await server.request("GET", f"/v1/interactions/{iid}/audit", role="supervisor")
    assert status == 200
    (entry,) = entries
    assert entry["action"] == "review" and entry["actor_role"] == "supervisor"
    assert entry["actor_id"] == made["id"] and entry["detail"]["review_id"] == body["id"]
    assert datetime.fromisoformat(entry["at"]) >= before
    status, _ = await server.request(
        "GET", f"/v1/interactions/{iid}/audit", token=await server.token("agent", "carol")
    )
    assert status == 403 and server.last_content_type == "application/problem+json"
