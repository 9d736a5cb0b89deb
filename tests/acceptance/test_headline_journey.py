"""The headline journey, through the public API and sockets only: the context follows the customer
from a phone call to a WhatsApp chat and through a transfer, without any extra request."""

from __future__ import annotations

from tests.support.servers import TestServer

PHONE = "+14155550123"


async def test_call_then_whatsapp_then_transfer_carries_the_whole_context(server: TestServer) -> None:
    alice = await server.agent("alice")  # voice + billing
    carol = await server.agent("carol")  # chat
    bob = await server.agent("bob")  # tier-2 billing

    # 1. The customer calls; the IVR collected intent and verification.
    call = await server.ingest(
        channel="voice",
        external_id="CA-call-1",
        **{"from": {"kind": "phone", "value": PHONE}},
        attributes={"intent": "billing", "verified": True, "account": "AC-778"},
    )
    assert call["queue"] == "voice_billing"
    offer, _assigned = await alice.accept_next()
    assert offer["interaction"]["id"] == call["id"]
    assert offer["interaction"]["attributes"]["intent"] == "billing"
    ack = await alice.call(
        {
            "type": "add_note",
            "interaction_id": call["id"],
            "body": "Disputed roaming charge of 42 EUR; promised a credit",
        }
    )
    assert ack["type"] == "ack", ack
    ack = await alice.call(
        {
            "type": "complete",
            "interaction_id": call["id"],
            "disposition": "credit_promised",
            "summary": "Roaming charge dispute",
        }
    )
    assert ack["type"] == "ack", ack

    # 2. Later, the same number writes on WhatsApp: same customer, a chat agent takes it.
    chat = await server.ingest(
        channel="social",
        external_id="wamid.HBgL1",
        **{"from": {"kind": "whatsapp", "value": PHONE[1:]}},
        content="Hi, the credit you promised is not on my bill",
        queue="chat",
    )
    assert chat["customer_id"] == call["customer_id"]
    assert chat["conversation_id"] != call["conversation_id"]
    c_offer, _ = await carol.accept_next()
    assert c_offer["interaction"]["id"] == chat["id"]
    ack = await carol.call(
        {
            "type": "send_message",
            "interaction_id": chat["id"],
            "body": "Let me pass you to our billing specialists",
        }
    )
    assert ack["type"] == "ack", ack
    ack = await carol.call(
        {
            "type": "transfer",
            "interaction_id": chat["id"],
            "queue": "tier2",
            "note": "Wants the roaming credit applied",
        }
    )
    assert ack["type"] == "ack", ack
    new_id = ack["result"]["interaction_id"]

    # 3. Bob's offer carries everything: the earlier call, its note and IVR data, and the chat so far.
    b_offer = await bob.next("offer")
    assert b_offer["interaction"]["id"] == new_id
    assert b_offer["interaction"]["conversation_id"] == chat["conversation_id"]
    ctx = b_offer["context"]
    assert ctx["customer"]["id"] == call["customer_id"]
    kinds = {(i["kind"], i["value"]) for i in ctx["identities"]}
    assert ("phone", PHONE) in kinds
    by_id = {i["id"]: i for i in ctx["interactions"]}
    earlier_call = by_id[call["id"]]
    assert earlier_call["channel"] == "voice"
    assert earlier_call["attributes"] == {"intent": "billing", "verified": True, "account": "AC-778"}
    assert [n["body"] for n in earlier_call["notes"]] == [
        "Disputed roaming charge of 42 EUR; promised a credit"
    ]
    assert earlier_call["summary"] == "Roaming charge dispute"
    assert earlier_call["disposition"] == "credit_promised"
    assert earlier_call["agent_id"] == "alice"
    transcript = [m["body"] for m in by_id[chat["id"]]["messages"]]
    assert transcript == [
        "Hi, the credit you promised is not on my bill",
        "Let me pass you to our billing specialists",
    ]
    assert [n["body"] for n in by_id[chat["id"]]["notes"]] == ["Wants the roaming credit applied"]
    assert by_id[chat["id"]]["status"] == "transferred"
    # newest first
    assert ctx["interactions"][0]["id"] == new_id

    for c in (alice, carol, bob):
        await c.close()
