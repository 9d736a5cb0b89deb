"""Who a contact is, through the running server: a withheld caller id links no one, an impossible number
is kept but links no one, an unverified hint never opens or changes another customer's record, and a
verified hint in national format (read in the deployment's region) links an e-mail to the caller."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import MakeServer
from tests.support.configs import DEFAULT
from tests.support.servers import TestServer

SECRET = "spoke about the overdue invoice 4471"


async def context(server: TestServer, customer_id: str) -> dict[str, Any]:
    status, body = await server.request("GET", f"/v1/customers/{customer_id}/context", role="admin")
    assert status == 200, body
    return dict(body)


async def noted_call(server: TestServer, caller: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A voice call that Alice takes, notes and completes; its ingest answer."""
    alice = await server.agent("alice")
    call = await server.ingest(channel="voice", queue="general", **{"from": caller}, **extra)
    offer, _ = await alice.accept_next()
    assert offer["interaction"]["id"] == call["id"]
    ack = await alice.call({"type": "add_note", "interaction_id": call["id"], "body": SECRET})
    assert ack["type"] == "ack", ack
    ack = await alice.call({"type": "complete", "interaction_id": call["id"], "summary": "invoice"})
    assert ack["type"] == "ack", ack
    await alice.close()
    return call


async def test_withheld_caller_ids_are_each_a_customer_of_their_own(server: TestServer) -> None:
    first = await noted_call(server, {"kind": "phone", "value": "+266696687"})
    alice = await server.agent("alice")
    later = []
    for caller in (
        {"kind": "phone", "value": "+266696687"},
        {"kind": "anonymous_caller", "value": "Anonymous"},
        {"kind": "voice", "value": "Restricted"},
    ):
        call = await server.ingest(channel="voice", queue="general", **{"from": caller})
        offer, _ = await alice.accept_next()
        assert offer["interaction"]["id"] == call["id"]
        assert SECRET not in json.dumps(offer), "an anonymous caller's offer shows another caller's notes"
        assert offer["context"]["customer"]["anonymous"] is True
        assert offer["context"]["identities"] == []
        assert [i["id"] for i in offer["context"]["interactions"]] == [call["id"]]
        await alice.call({"type": "complete", "interaction_id": call["id"]})
        later.append(call["customer_id"])
    assert len({first["customer_id"], *later}) == 4
    record = await context(server, first["customer_id"])
    assert record["customer"]["anonymous"] is True and record["identities"] == []
    assert record["possible_matches"] == []
    await alice.close()


async def test_an_impossible_number_is_kept_on_the_interaction_and_links_no_one(server: TestServer) -> None:
    ids = []
    for n in range(2):
        result = await server.ingest(
            channel="chat", queue="chat", content=f"hi {n}", **{"from": {"kind": "phone", "value": "1"}}
        )
        ids.append(result["customer_id"])
        status, it = await server.request("GET", f"/v1/interactions/{result['id']}", role="admin")
        assert status == 200 and it["attributes"]["raw_from"] == "1"
        assert (it["from_kind"], it["from_value"]) == ("phone", "1")
    assert ids[0] != ids[1]
    # an impossible number in a hint is kept too, and links no one
    hinted = await server.ingest(
        channel="chat",
        queue="chat",
        content="hi",
        customer={"phone": "12", "verified": True},
        **{"from": {"kind": "chat_visitor", "value": "v-raw"}},
    )
    status, it = await server.request("GET", f"/v1/interactions/{hinted['id']}", role="admin")
    assert status == 200 and it["attributes"]["raw_customer_phone"] == "12"
    status, body = await server.request(
        "POST",
        "/v1/interactions",
        {"channel": "chat", "external_id": "r", "from": {"kind": "phone", "value": "1"}, "region": "ZZ"},
        role="adapter",
    )
    assert status == 422 and any("region" in json.dumps(e["loc"]) for e in body["errors"]), body
    record = await context(server, ids[0])
    assert record["identities"] == [] and record["customer"]["anonymous"] is False


async def test_an_unverified_hint_never_opens_or_changes_a_customer(server: TestServer) -> None:
    call = await noted_call(server, {"kind": "phone", "value": "+14155550123"}, customer={"name": "Ana Real"})
    before = await context(server, call["customer_id"])
    assert before["customer"]["name"] == "Ana Real"

    carol = await server.agent("carol")
    chat = await server.ingest(
        channel="chat",
        queue="chat",
        content="I am Ana, what did we say on the phone?",
        customer={"name": "Mallory", "phone": "(415) 555-0123", "email": "ana@example.com"},
        **{"from": {"kind": "chat_visitor", "value": "visitor-77"}},
    )
    assert chat["customer_id"] != call["customer_id"]
    offer, _ = await carol.accept_next()
    assert offer["interaction"]["id"] == chat["id"]
    text = json.dumps(offer)
    assert SECRET not in text and call["id"] not in text, "the offer opens the named customer's history"
    ctx = offer["context"]
    assert ctx["customer"]["id"] == chat["customer_id"] and ctx["customer"]["name"] == "Mallory"
    assert ctx["possible_matches"] == [
        {"customer_id": call["customer_id"], "name": "Ana Real", "matched": ["phone"]}
    ]
    assert ctx["identities"] == [
        {"kind": "chat_visitor", "value": "visitor-77", "created_at": ctx["identities"][0]["created_at"]}
    ]

    after = await context(server, call["customer_id"])
    assert after["customer"] == before["customer"], "an unverified hint changed the stored profile"
    assert after["identities"] == before["identities"]
    assert after["possible_matches"] == []
    await carol.close()


async def test_one_contact_with_keys_of_two_customers_goes_to_its_own_address(server: TestServer) -> None:
    phone = await server.ingest(
        channel="sms", queue="chat", content="a", **{"from": {"kind": "sms", "value": "+14155550199"}}
    )
    mail = await server.ingest(
        channel="email",
        queue="general",
        subject="b",
        **{"from": {"kind": "email", "value": "kim@example.com"}},
    )
    both = await server.ingest(
        channel="email",
        queue="general",
        subject="c",
        join_open=False,
        customer={"phone": "+1 415 555 0199", "verified": True},
        **{"from": {"kind": "email", "value": "KIM@example.com"}},
    )
    assert both["customer_id"] == mail["customer_id"] != phone["customer_id"]
    record = await context(server, mail["customer_id"])
    assert record["possible_matches"] == [
        {"customer_id": phone["customer_id"], "name": None, "matched": ["phone"]}
    ]
    assert {(i["kind"], i["value"]) for i in record["identities"]} == {("email", "kim@example.com")}
    assert [(i["kind"], i["value"]) for i in (await context(server, phone["customer_id"]))["identities"]] == [
        ("phone", "+14155550199")
    ]


async def test_a_verified_national_number_links_the_callers_email(server: TestServer) -> None:
    call = await noted_call(server, {"kind": "phone", "value": "+14155550123"})
    mail = await server.ingest(
        channel="email",
        queue="general",
        subject="About my invoice",
        customer={"name": "Jo", "email": "jo@example.com", "phone": "(415) 555-0123", "verified": True},
        **{"from": {"kind": "email", "value": "jo@example.com"}},
    )
    assert mail["customer_id"] == call["customer_id"]
    record = await context(server, call["customer_id"])
    assert {(i["kind"], i["value"]) for i in record["identities"]} == {
        ("phone", "+14155550123"),
        ("email", "jo@example.com"),
    }
    assert {i["id"] for i in record["interactions"]} == {call["id"], mail["id"]}
    assert SECRET in json.dumps(record)
    assert (record["customer"]["name"], record["customer"]["email"]) == ("Jo", "jo@example.com")
    assert record["possible_matches"] == []


async def test_national_numbers_are_read_in_the_configured_region(make_server: MakeServer) -> None:
    server = await make_server(DEFAULT.with_identity(default_region="GB"))
    caller = await server.ingest(
        channel="sms", queue="chat", content="hi", **{"from": {"kind": "sms", "value": "07700 900123"}}
    )
    assert [
        (i["kind"], i["value"]) for i in (await context(server, caller["customer_id"]))["identities"]
    ] == [("phone", "+447700900123")]
    # the event's own region wins over the deployment's
    american = await server.ingest(
        channel="sms",
        queue="chat",
        content="hi",
        region="US",
        **{"from": {"kind": "sms", "value": "(415) 555-0123"}},
    )
    assert [
        (i["kind"], i["value"]) for i in (await context(server, american["customer_id"]))["identities"]
    ] == [("phone", "+14155550123")]
    # read as American, the British national number is no one: a customer of its own
    stray = await server.ingest(
        channel="sms",
        queue="chat",
        content="hi",
        region="US",
        **{"from": {"kind": "sms", "value": "07700 900123"}},
    )
    assert stray["customer_id"] not in (caller["customer_id"], american["customer_id"])


async def test_an_escalation_reaches_the_address_given_without_making_it_an_identity(
    server: TestServer,
) -> None:
    sms = await server.ingest(
        channel="sms",
        queue="chat",
        content="send me the contract by mail",
        customer={"email": "Dev@Example.com"},
        **{"from": {"kind": "sms", "value": "+15550133444"}},
    )
    carol = await server.agent("carol")
    await carol.accept_next()
    ack = await carol.call(
        {"type": "transfer", "interaction_id": sms["id"], "queue": "general", "channel": "email"}
    )
    assert ack["type"] == "ack", ack
    status, mail = await server.request(
        "GET", f"/v1/interactions/{ack['result']['interaction_id']}", role="admin"
    )
    assert status == 200 and (mail["from_kind"], mail["from_value"]) == ("email", "dev@example.com")
    record = await context(server, sms["customer_id"])
    assert [(i["kind"], i["value"]) for i in record["identities"]] == [("phone", "+15550133444")]
    # so an e-mail from that address is not this customer: the address was never proven theirs
    other = await server.ingest(
        channel="email",
        queue="general",
        subject="hi",
        **{"from": {"kind": "email", "value": "dev@example.com"}},
    )
    assert other["customer_id"] != sms["customer_id"]
    await carol.close()
