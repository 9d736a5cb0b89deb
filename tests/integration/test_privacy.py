"""The journey before a first contact and personal data on request, through the running server: a visitor's
pages appear in their first chat's offer, the journey cap holds while posts race, an export holds the
notes, an erasure leaves no name, identity or body in any API while the queue's counts stay, the same
number then starts a new customer, and retention blanks old bodies only."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tests.conftest import MakeServer
from tests.support.configs import DEFAULT
from tests.support.servers import TestServer

NOTE = "promised a refund of 40 EUR to Ana Lindqvist"
SAID = "my account number is 7731-22"
NAME = "Ana Lindqvist"
PHONE = "+46701234567"


async def journey_event(server: TestServer, identity: dict[str, str], **event: Any) -> tuple[int, Any]:
    return await server.request("POST", "/v1/journey-events", {"identity": identity, **event}, role="adapter")


async def test_pages_browsed_before_the_first_chat_are_in_its_offer(server: TestServer) -> None:
    visitor = {"kind": "chat_visitor", "value": "v-1a2b3c4d"}
    pages = ["/pricing", "/pricing/enterprise", "/contact"]
    owners = set()
    for n, url in enumerate(pages):
        status, body = await journey_event(
            server, visitor, type="page_view", data={"url": url}, at=f"2026-11-27T10:0{n}:00Z"
        )
        assert status == 201, body
        assert body["event"]["type"] == "page_view" and body["event"]["data"] == {"url": url}
        owners.add(body["customer_id"])
    assert len(owners) == 1, "one visitor, one customer"
    carol = await server.agent("carol")
    chat = await server.ingest(
        channel="chat",
        queue="chat",
        content="hi",
        customer={"name": "Ines", "email": "ines@example.com"},
        **{"from": visitor},
    )
    assert chat["customer_id"] in owners, "the first chat links to the visitor's customer"
    offer, _ = await carol.accept_next()
    assert offer["interaction"]["id"] == chat["id"]
    # what the first contact says of itself fills the profile, as on a customer it would have created
    customer = offer["context"]["customer"]
    assert (customer["name"], customer["email"]) == ("Ines", "ines@example.com")
    seen = [e["data"]["url"] for e in offer["context"]["events"] if e["type"] == "page_view"]
    assert seen == list(reversed(pages)), "the pages, newest first, in the chat's offer"
    await carol.close()


async def test_a_journey_needs_an_identity_that_names_one_person(server: TestServer) -> None:
    for identity in (
        {"kind": "anonymous_caller", "value": "Anonymous"},
        {"kind": "phone", "value": "+266696687"},
        {"kind": "phone", "value": "1"},
        {"kind": "email", "value": "nobody"},
    ):
        status, body = await journey_event(server, identity, type="page_view")
        assert status == 422, (identity, body)
        assert body["errors"][0]["loc"] == ["identity"]
    count = await server.pool.fetchval("SELECT count(*) FROM customers")
    assert count == 0, "a refused event created a customer"
    # normalized as a contact's own address: a national number read in the default region
    status, body = await journey_event(server, {"kind": "phone", "value": "(415) 555-0123"}, type="ivr.menu")
    assert status == 201, body
    call = await server.ingest(
        channel="voice", queue="general", **{"from": {"kind": "phone", "value": "+14155550123"}}
    )
    assert call["customer_id"] == body["customer_id"]


async def test_the_journey_cap_holds_while_posts_race(make_server: MakeServer) -> None:
    cap = 15
    server = await make_server(DEFAULT.with_identity(journey_cap=cap))
    visitor = {"kind": "chat_visitor", "value": "v-racer-001"}
    status, first = await journey_event(
        server, visitor, type="page_view", data={"n": -1}, at="2026-11-27T09:00:00Z"
    )
    assert status == 201
    customer_id = first["customer_id"]
    seen: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            seen.append(
                await server.pool.fetchval(
                    "SELECT count(*) FROM journey_events WHERE customer_id = $1::uuid", customer_id
                )
            )
            await asyncio.sleep(0)

    async def post(n: int) -> int:
        status, _ = await journey_event(
            server, visitor, type="page_view", data={"n": n}, at=f"2026-11-27T11:{n // 60:02d}:{n % 60:02d}Z"
        )
        return status

    sampler = asyncio.create_task(sample())
    statuses = await asyncio.gather(*(post(n) for n in range(90)))
    done.set()
    await sampler
    assert statuses == [201] * 90
    assert seen and max(seen) <= cap, f"{max(seen)} events seen, over the cap of {cap}"
    status, record = await server.request("GET", f"/v1/customers/{customer_id}/context", role="admin")
    assert status == 200
    assert [e["data"]["n"] for e in record["events"]] == list(range(89, 89 - cap, -1)), "the newest kept"


async def _counts(server: TestServer, queue: str) -> dict[str, Any]:
    status, body = await server.request("GET", f"/v1/queues/{queue}", role="supervisor")
    assert status == 200, body
    stats = body["stats"]
    return {k: stats[k] for k in ("answered_today", "answered_in_sl_today", "abandoned_today")}


async def test_export_then_erase(server: TestServer) -> None:
    caller = {"kind": "phone", "value": PHONE}
    bob = await server.agent("bob")
    call = await server.ingest(
        channel="chat",
        queue="tier2",
        content=SAID,
        subject="refund",
        customer={"name": NAME, "verified": True},
        attributes={"account": "7731-22"},
        attachments=[{"url": "https://files.example/id-card.png", "filename": "id-card.png"}],
        **{"from": caller},
    )
    customer_id = call["customer_id"]
    offer, _ = await bob.accept_next()
    assert offer["interaction"]["id"] == call["id"]
    assert (await bob.call({"type": "add_note", "interaction_id": call["id"], "body": NOTE}))["type"] == "ack"
    assert (await bob.call({"type": "send_message", "interaction_id": call["id"], "body": f"Thanks {NAME}"}))[
        "type"
    ] == "ack"
    # an abandoned message of the same customer (nobody with the chat skill is signed in), for the counts
    gone = await server.ingest(channel="sms", queue="chat", content="still there?", **{"from": caller})
    status, body = await server.request("DELETE", f"/v1/customers/{customer_id}", role="admin")
    assert status == 409 and body["status"] == 409, "erased while work is live"
    assert (await bob.call({"type": "complete", "interaction_id": call["id"], "summary": NOTE}))[
        "type"
    ] == "ack"
    await server.request(
        "POST", f"/v1/interactions/{gone['id']}/end", {"reason": "customer_left"}, role="adapter"
    )

    status, _ = await server.request(
        "PATCH",
        f"/v1/customers/{customer_id}",
        {"language": "sv-SE", "timezone": "Europe/Stockholm"},
        role="supervisor",
    )
    assert status == 200

    status, export = await server.request("GET", f"/v1/customers/{customer_id}/export", role="admin")
    assert status == 200, export
    assert export["customer"]["name"] == NAME and export["customer"]["erased_at"] is None
    assert (export["preferences"]["language"], export["preferences"]["timezone"]) == (
        "sv-SE",
        "Europe/Stockholm",
    )
    assert (export["campaigns"], export["callbacks"], export["surveys"]) == ([], [], [])
    assert export["consent"] == [], "no consent was recorded (the key is there: the ledger is exported)"
    assert [n["body"] for n in export["notes"]] == [NOTE]
    assert SAID in [m["body"] for m in export["messages"]]
    assert f"Thanks {NAME}" in [m["body"] for m in export["messages"]]
    assert export["messages"][0]["attachments"][0]["url"] == "https://files.example/id-card.png"
    assert {(i["kind"], i["value"]) for i in export["identities"]} == {("phone", PHONE)}
    assert {i["id"] for i in export["interactions"]} == {call["id"], gone["id"]}
    assert any(h["status"] == "completed" for h in export["history"])
    assert any(e["type"] == "interaction.created" for e in export["journey"])
    status, _ = await server.request("GET", f"/v1/customers/{customer_id}/export", role="supervisor")
    assert status == 403, "only an admin exports"

    before = {q: await _counts(server, q) for q in ("tier2", "chat")}
    assert before["tier2"]["answered_today"] == 1 and before["chat"]["abandoned_today"] == 1
    status, erasure = await server.request("DELETE", f"/v1/customers/{customer_id}", role="admin")
    assert status == 200, erasure
    assert erasure["customer_id"] == customer_id and erasure["erased_by"].startswith("admin:")
    assert erasure["counts"]["notes"] == 1 and erasure["counts"]["identities"] == 1
    after = {q: await _counts(server, q) for q in ("tier2", "chat")}
    assert after == before, "the erasure changed the queues' daily counts"

    secrets = (NAME, "Lindqvist", PHONE, "7731-22", "id-card", NOTE, "refund")
    views = [
        await server.request("GET", f"/v1/customers/{customer_id}/context", role="admin"),
        await server.request("GET", f"/v1/customers/{customer_id}/export", role="admin"),
        await server.request("GET", f"/v1/interactions/{call['id']}", role="admin"),
        await server.request("GET", f"/v1/interactions/{gone['id']}", role="admin"),
    ]
    for status, view in views:
        assert status == 200, view
        text = json.dumps(view)
        for secret in secrets:
            assert secret not in text, f"{secret!r} is still shown after the erasure"
    events = await server.redis.xrange(server.engine.keys.events)
    stream = json.dumps([fields for _, fields in events])
    assert SAID not in stream and NAME not in stream, "the event stream still replays an erased body"
    again = await server.request("DELETE", f"/v1/customers/{customer_id}", role="admin")
    assert again == (200, erasure), "a second erasure answers the first"

    # the same number again: a new customer with an empty history
    carol = await server.agent("carol")
    fresh = await server.ingest(channel="sms", queue="chat", content="hello again", **{"from": caller})
    assert fresh["customer_id"] != customer_id
    offer, _ = await carol.accept_next()
    assert offer["interaction"]["id"] == fresh["id"]
    ctx = offer["context"]
    assert [i["id"] for i in ctx["interactions"]] == [fresh["id"]]
    assert ctx["customer"]["name"] is None and ctx["possible_matches"] == []
    assert NOTE not in json.dumps(offer) and SAID not in json.dumps(offer)
    await carol.close()
    await bob.close()


async def test_retention_blanks_old_bodies_only(make_server: MakeServer) -> None:
    server = await make_server(DEFAULT.with_retention(message_days=30, purge_interval_seconds=0.2))
    visitor = {"kind": "chat_visitor", "value": "v-retention-1"}
    chat = await server.ingest(channel="chat", queue="chat", content="an old line", **{"from": visitor})
    await server.ingest(
        channel="chat",
        queue="chat",
        content="a new line",
        external_id="second",
        **{"from": visitor},
    )
    await server.pool.execute(
        "UPDATE messages SET created_at = now() - interval '31 days' WHERE body = 'an old line'"
    )
    deadline = time.monotonic() + 30
    while True:
        status, it = await server.request("GET", f"/v1/interactions/{chat['id']}", role="admin")
        assert status == 200
        bodies = [m["body"] for m in it["messages"]]
        if "an old line" not in bodies:
            break
        assert time.monotonic() < deadline, "the retention purge never ran"
        await asyncio.sleep(0.1)
    assert sorted(bodies) == ["", "a new line"], "only the old body is blanked"


async def test_an_erasure_reaches_the_customer_in_every_domain(make_server: MakeServer) -> None:
    """Customers are shared by the routing domains of a deployment: an erasure asked in one domain blanks
    the customer's messages served by another, and that domain's event stream forgets their text."""
    eu = await make_server(DEFAULT, domain="eu")
    us = await make_server(DEFAULT, domain="us")
    sender = {"kind": "sms", "value": PHONE}
    carol = await us.agent("carol")
    first = await us.ingest(channel="sms", queue="chat", content=SAID, **{"from": sender})
    offer, _ = await carol.accept_next()
    assert offer["interaction"]["id"] == first["id"]
    ack = await carol.call({"type": "send_message", "interaction_id": first["id"], "body": f"Hi {NAME}"})
    assert ack["type"] == "ack", ack
    # the customer is live in the us domain: the eu domain's admin cannot erase them yet
    status, _ = await eu.request("DELETE", f"/v1/customers/{first['customer_id']}", role="admin")
    assert status == 409
    assert (await carol.call({"type": "complete", "interaction_id": first["id"]}))["type"] == "ack"
    await carol.close()

    status, erasure = await eu.request("DELETE", f"/v1/customers/{first['customer_id']}", role="admin")
    assert status == 200, erasure
    stream = await us.redis.xrange(us.engine.keys.events)
    text = json.dumps([fields for _, fields in stream])
    assert NAME not in text and SAID not in text, "the other domain's stream still replays the erased text"
    status, it = await us.request("GET", f"/v1/interactions/{first['id']}", role="admin")
    assert status == 200 and [m["body"] for m in it["messages"]] == ["", ""]
