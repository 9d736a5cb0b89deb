"""Merging customers through the running server: an agent's ``link_customer`` after an unverified hint,
a supervisor's merge and unmerge over HTTP (both customers exactly as before, the history listed), the
desktops told of the new context, the errors, who may merge, and merges racing over HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from tests.conftest import MakeServer
from tests.integration.test_identity import SECRET, context, noted_call
from tests.support.agents import AgentClient
from tests.support.configs import routing
from tests.support.servers import TestServer

ANA = {"kind": "phone", "value": "+14155550123"}


def without_merges(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "merges"}


async def still_open(agent: AgentClient) -> None:
    ack = await agent.call({"type": "ping"})
    assert ack["type"] == "ack", ack


async def test_link_customer_after_an_unverified_hint_opens_the_verified_customers_history(
    server: TestServer,
) -> None:
    call = await noted_call(server, ANA, customer={"name": "Ana Real"})
    ana = call["customer_id"]
    ana_before = await context(server, ana)

    carol = await server.agent("carol")
    chat = await server.ingest(
        channel="chat",
        queue="chat",
        content="It's Ana, about the invoice we discussed on the phone",
        customer={"name": "Ana R.", "phone": "(415) 555-0123"},
        **{"from": {"kind": "chat_visitor", "value": "visitor-9"}},
    )
    visitor = chat["customer_id"]
    assert visitor != ana
    offer, _ = await carol.accept_next()
    assert offer["interaction"]["id"] == chat["id"]
    assert SECRET not in json.dumps(offer) and call["id"] not in json.dumps(offer)
    assert offer["context"]["possible_matches"] == [
        {"customer_id": ana, "name": "Ana Real", "matched": ["phone"]}
    ]
    assert await context(server, ana) == ana_before, "an unverified hint changed the stored customer"
    visitor_before = await context(server, visitor)

    # refused, each with an error frame on a socket that stays open, and nothing changed
    refusals = [
        ({"interaction_id": "not-an-id", "customer_id": ana}, "not_found"),
        ({"interaction_id": str(uuid.uuid4()), "customer_id": ana}, "not_found"),
        ({"interaction_id": chat["id"], "customer_id": "not-an-id"}, "not_found"),
        ({"interaction_id": chat["id"], "customer_id": str(uuid.uuid4())}, "not_found"),
        ({"interaction_id": call["id"], "customer_id": ana}, "forbidden"),  # Alice's call, not Carol's
        ({"interaction_id": chat["id"], "customer_id": visitor}, "conflict"),
        ({"interaction_id": chat["id"]}, "invalid_frame"),
        ({"interaction_id": chat["id"], "customer_id": ana, "extra": 1}, "invalid_frame"),
    ]
    for frame, code in refusals:
        answer = await carol.call({"type": "link_customer", **frame})
        assert answer["type"] == "error" and answer["code"] == code, (frame, answer)
        await still_open(carol)
    assert carol.pending("context") == []
    assert await context(server, ana) == ana_before
    assert await context(server, visitor) == visitor_before

    ack = await carol.call({"type": "link_customer", "interaction_id": chat["id"], "customer_id": ana})
    assert ack["type"] == "ack" and ack["result"]["customer_id"] == ana, ack
    pushed = await carol.next("context", interaction_id=chat["id"])
    ctx = pushed["context"]
    assert ctx["customer"]["id"] == ana and ctx["customer"]["name"] == "Ana Real", "the profile was kept"
    assert {call["id"], chat["id"]} <= {i["id"] for i in ctx["interactions"]}
    assert SECRET in json.dumps(ctx), "the context does not carry the earlier call's note"
    assert ctx["possible_matches"] == []
    (merge,) = ctx["merges"]
    assert (merge["customer_id"], merge["other_customer_id"]) == (ana, visitor)
    assert (merge["reason"], merge["merged_by"], merge["matched"]) == (
        "agent verified",
        "agent:carol",
        ["phone"],
    )
    assert ("chat_visitor", "visitor-9") in {(i["kind"], i["value"]) for i in ctx["identities"]}
    merged_away = await context(server, visitor)
    assert merged_away["customer"]["merged_into"] == ana and merged_away["interactions"] == []

    # the next offer of the customer's work, here a new chat of the same visitor, carries it all
    await carol.call({"type": "complete", "interaction_id": chat["id"]})
    again = await server.ingest(
        channel="chat",
        queue="chat",
        content="me again",
        join_open=False,
        **{"from": {"kind": "chat_visitor", "value": "visitor-9"}},
    )
    assert again["customer_id"] == ana
    offer, _ = await carol.accept_next()
    assert offer["interaction"]["id"] == again["id"]
    assert offer["context"]["customer"]["id"] == ana and SECRET in json.dumps(offer["context"])
    await carol.close()


async def test_merge_then_unmerge_leaves_both_customers_as_they_were(server: TestServer) -> None:
    other_call = await noted_call(server, {"kind": "phone", "value": "+14155550199"})
    first_mail = await server.ingest(
        channel="email",
        queue="general",
        subject="hello",
        **{"from": {"kind": "email", "value": "kim@example.com"}},
    )
    mail = await server.ingest(
        channel="email",
        queue="general",
        subject="same person, other address",
        join_open=False,
        customer={"phone": "+1 415 555 0199", "verified": True},
        **{"from": {"kind": "email", "value": "kim@example.com"}},
    )
    # one contact with keys of two customers: nothing merged, it went to its own address's customer and
    # the other is a possible match
    assert mail["customer_id"] == first_mail["customer_id"] != other_call["customer_id"]
    a, b = mail["customer_id"], other_call["customer_id"]
    status, _ = await server.request(
        "POST", f"/v1/customers/{b}/events", {"type": "page_view", "data": {"url": "/help"}}, role="adapter"
    )
    assert status == 201
    a_before, b_before = await context(server, a), await context(server, b)
    assert a_before["possible_matches"] == [{"customer_id": b, "name": None, "matched": ["phone"]}]
    assert b_before["interactions"] and b_before["events"]

    # Alice holds a new call of b while the merge is made: her desktop is shown the merged context
    alice = await server.agent("alice")
    held = await server.ingest(
        channel="voice", queue="general", **{"from": {"kind": "phone", "value": "+14155550199"}}
    )
    await alice.accept_next()
    a_before, b_before = await context(server, a), await context(server, b)

    status, merged = await server.request(
        "POST",
        f"/v1/customers/{a}/merge",
        {"other_customer_id": b, "reason": "same person: Kim"},
        role="supervisor",
    )
    assert status == 201, merged
    assert (merged["customer_id"], merged["other_customer_id"], merged["matched"]) == (a, b, ["phone"])
    assert merged["merged_by"].startswith("supervisor:") and merged["unmerged_at"] is None
    pushed = await alice.next("context", interaction_id=held["id"])
    assert pushed["context"]["customer"]["id"] == a
    during = await context(server, a)
    assert {i["id"] for i in during["interactions"]} == {
        i["id"] for i in a_before["interactions"] + b_before["interactions"]
    }
    assert SECRET in json.dumps(during) and during["possible_matches"] == []
    assert {(i["kind"], i["value"]) for i in during["identities"]} == {
        ("email", "kim@example.com"),
        ("phone", "+14155550199"),
    }
    # a new call from b's number now reaches a
    assert (
        await server.ingest(
            channel="voice", queue="general", **{"from": {"kind": "phone", "value": "+14155550199"}}
        )
    )["customer_id"] == a

    status, undone = await server.request(
        "POST", f"/v1/customers/{a}/unmerge", {"merge_id": merged["id"]}, role="admin"
    )
    assert status == 200, undone
    assert (
        undone["id"] == merged["id"] and undone["unmerged_by"].startswith("admin:") and undone["unmerged_at"]
    )
    pushed = await alice.next("context", interaction_id=held["id"])
    assert pushed["context"]["customer"]["id"] == b
    a_after, b_after = await context(server, a), await context(server, b)
    # the call that came in while merged stays with the customer it reached
    late = [i for i in a_after["interactions"] if i["id"] not in {j["id"] for j in a_before["interactions"]}]
    assert len(late) == 1 and late[0]["channel"] == "voice"
    a_after["interactions"] = [i for i in a_after["interactions"] if i["id"] != late[0]["id"]]
    a_after["events"] = [e for e in a_after["events"] if e["interaction_id"] != late[0]["id"]]
    assert without_merges(a_after) == without_merges(a_before)
    assert without_merges(b_after) == without_merges(b_before)
    assert b_after["customer"]["merged_into"] is None
    for record in (a_after, b_after):
        assert [(m["id"], m["reason"], m["unmerged_by"]) for m in record["merges"]] == [
            (merged["id"], "same person: Kim", undone["unmerged_by"])
        ]
    await alice.close()


async def test_merge_errors_and_who_may_merge(server: TestServer) -> None:
    a = (
        await server.ingest(
            channel="sms", queue="chat", content="a", **{"from": {"kind": "sms", "value": "+14155550101"}}
        )
    )["customer_id"]
    b = (
        await server.ingest(
            channel="sms", queue="chat", content="b", **{"from": {"kind": "sms", "value": "+14155550102"}}
        )
    )["customer_id"]
    c = (
        await server.ingest(
            channel="sms", queue="chat", content="c", **{"from": {"kind": "sms", "value": "+14155550103"}}
        )
    )["customer_id"]
    before = {x: await context(server, x) for x in (a, b, c)}
    # the reason is a person's words: a NUL is dropped, anything else kept as written
    good = {"other_customer_id": b, "reason": "same person \u0000— Kim Ø 🙂"}

    async def post(path: str, body: Any, **who: Any) -> tuple[int, Any]:
        status, answer = await server.request("POST", path, body, **who)
        if status >= 400:
            assert server.last_content_type == "application/problem+json", answer
            assert answer["status"] == status
        return status, answer

    assert (await post(f"/v1/customers/{a}/merge", good))[0] == 401
    for role in ("agent", "adapter"):
        token = await server.token(role, "alice" if role == "agent" else None)
        assert (await post(f"/v1/customers/{a}/merge", good, token=token))[0] == 403, role
        assert (await post(f"/v1/customers/{a}/unmerge", {"merge_id": str(uuid.uuid4())}, token=token))[
            0
        ] == 403
    assert (await post(f"/v1/customers/{uuid.uuid4()}/merge", good, role="supervisor"))[0] == 404
    assert (await post("/v1/customers/not-a-customer/merge", good, role="supervisor"))[0] == 404
    missing = {"other_customer_id": str(uuid.uuid4()), "reason": "r"}
    assert (await post(f"/v1/customers/{a}/merge", missing, role="supervisor"))[0] == 404
    self_merge = {"other_customer_id": a, "reason": "r"}
    assert (await post(f"/v1/customers/{a}/merge", self_merge, role="supervisor"))[0] == 409
    for bad in (
        {"other_customer_id": b},
        {"other_customer_id": "not-a-uuid", "reason": "r"},
        {"other_customer_id": b, "reason": ""},
        {"other_customer_id": b, "reason": "r", "extra": True},
        {"reason": "r"},
        [],
    ):
        status, problem = await post(f"/v1/customers/{a}/merge", bad, role="supervisor")
        assert status == 422 and problem.get("errors"), (bad, problem)
    for x in (a, b, c):
        assert await context(server, x) == before[x], "a refused merge changed something"

    status, merged = await post(f"/v1/customers/{a}/merge", good, role="supervisor")
    assert status == 201 and merged["reason"] == "same person — Kim Ø 🙂", merged
    for path, body in (
        (f"/v1/customers/{c}/merge", {"other_customer_id": b, "reason": "r"}),  # b is merged away
        (f"/v1/customers/{b}/merge", {"other_customer_id": c, "reason": "r"}),
        (f"/v1/customers/{a}/merge", {"other_customer_id": b, "reason": "r"}),
    ):
        assert (await post(path, body, role="supervisor"))[0] == 409, path
    assert (await post(f"/v1/customers/{c}/unmerge", {"merge_id": merged["id"]}, role="supervisor"))[0] == 404
    assert (await post(f"/v1/customers/{a}/unmerge", {"merge_id": str(uuid.uuid4())}, role="supervisor"))[
        0
    ] == 404
    assert (await post(f"/v1/customers/{a}/unmerge", {"merge_id": "nope"}, role="supervisor"))[0] == 422
    assert (await post(f"/v1/customers/{a}/unmerge", {"merge_id": merged["id"]}, role="supervisor"))[0] == 200
    assert (await post(f"/v1/customers/{a}/unmerge", {"merge_id": merged["id"]}, role="supervisor"))[0] == 409
    for x in (a, b, c):
        assert without_merges(await context(server, x)) == without_merges(before[x])


async def test_merges_racing_over_http_leave_one_consistent_record(server: TestServer) -> None:
    for n in range(4):
        ids = []
        for k in range(3):
            sender = {"kind": "sms", "value": f"+1415555{n}{k}10"}
            ids.append(
                (await server.ingest(channel="sms", queue="chat", content="x", **{"from": sender}))[
                    "customer_id"
                ]
            )
        a, b, c = ids
        pairs = [(a, b), (b, a), (c, a), (b, c), (a, c)]
        answers = await asyncio.gather(
            *(
                server.request(
                    "POST",
                    f"/v1/customers/{k}/merge",
                    {"other_customer_id": o, "reason": "race"},
                    role="supervisor",
                )
                for k, o in pairs
            )
        )
        assert {s for s, _ in answers} <= {201, 409}, answers
        done = [body for s, body in answers if s == 201]
        assert done
        records = {x: await context(server, x) for x in ids}
        alive = [x for x in ids if records[x]["customer"]["merged_into"] is None]
        assert sum(len(records[x]["interactions"]) for x in alive) == 3
        assert sum(len(records[x]["identities"]) for x in alive) == 3
        for x in ids:
            if x not in alive:
                assert records[x]["interactions"] == [] and records[x]["identities"] == []


async def test_a_desktop_on_another_router_process_is_shown_the_merged_context(
    make_server: MakeServer,
) -> None:
    first, second = await make_server(), await make_server()
    alice = await second.agent("alice")
    call = await second.ingest(
        channel="voice", queue="general", **{"from": {"kind": "phone", "value": "+14155550177"}}
    )
    await alice.accept_next()
    known = await first.ingest(
        channel="email",
        queue="general",
        subject="hi",
        **{"from": {"kind": "email", "value": "lee@example.com"}},
    )
    status, merged = await first.request(
        "POST",
        f"/v1/customers/{known['customer_id']}/merge",
        {"other_customer_id": call["customer_id"], "reason": "same person"},
        role="supervisor",
    )
    assert status == 201, merged
    pushed = await alice.next("context", interaction_id=call["id"])
    assert pushed["context"]["customer"]["id"] == known["customer_id"]
    assert [m["id"] for m in pushed["context"]["merges"]] == [merged["id"]]
    kinds = [fields["type"] for _, fields in await first.redis.xrange(first.engine.keys.events)]
    assert "customer_merged" in kinds and "context_changed" in kinds
    await alice.close()


async def test_a_merge_tells_only_its_own_domains_desktops(make_server: MakeServer) -> None:
    """Customers are shared by routing domains, agents are not: a merge made in one domain never sends a
    context frame about another domain's work to a desktop of the same agent id here."""
    base = routing().queue("support", skills={"chat": 1}, channels=["chat"], wrapup_seconds=0)
    desk = base.agent("alice", name="Alice", skills={"chat": 5}, capacity={"chat": 2})
    eu, us = await make_server(desk, domain="eu"), await make_server(desk, domain="us")
    alice_eu, alice_us = await eu.agent("alice"), await us.agent("alice")
    visitor = {"kind": "chat_visitor", "value": "v-shared"}
    in_eu = await eu.ingest(channel="chat", queue="support", content="hi", **{"from": visitor})
    await alice_eu.accept_next()
    known = await us.ingest(
        channel="chat", queue="support", content="hi", **{"from": {"kind": "chat_visitor", "value": "v-us"}}
    )
    in_us, _ = await alice_us.accept_next()
    status, merged = await us.request(
        "POST",
        f"/v1/customers/{known['customer_id']}/merge",
        {"other_customer_id": in_eu["customer_id"], "reason": "same person"},
        role="supervisor",
    )
    assert status == 201, merged
    pushed = await alice_us.next("context", interaction_id=in_us["interaction"]["id"])
    assert {i["id"] for i in pushed["context"]["interactions"]} >= {in_eu["id"], in_us["interaction"]["id"]}
    await still_open(alice_us)
    assert [f for f in alice_us.pending("context") if f["interaction_id"] == in_eu["id"]] == []
    assert alice_eu.pending("context") == []
    # the other domain's desktop has the merged context at its next hello
    await alice_eu.close()
    alice_eu = await eu.agent("alice", available=False)
    (work,) = alice_eu.hello["work"]
    assert work["context"]["customer"]["id"] == known["customer_id"]
    await alice_eu.close()
    await alice_us.close()
