"""Through the running server: a Twilio call whose IVR collected ``billing`` reaches the billing
agent with that intent in the offer; a WhatsApp message from the same number lands on the same
customer, its offer shows the call, and the agent's reply leaves in the Graph API's format."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit
from xml.etree.ElementTree import Element, fromstring

from aiohttp import web

from tests.conftest import MakeServer
from tests.support.configs import with_adapters
from tests.support.providers import (
    META_SECRET,
    TWILIO_TOKEN,
    fixture_bytes,
    fixture_json,
    post_meta,
    post_twilio,
)
from tests.support.recorders import Recorder
from tests.support.servers import TestServer, interaction

CALLER = "+16505551234"  # the wa_id of the recorded WhatsApp message is this number


async def twiml(server: TestServer, path: str, params: dict[str, str]) -> Element:
    status, text = await post_twilio(server.url, path, params)
    assert status == 200, text
    return fromstring(text)


async def call_through_ivr(server: TestServer, params: dict[str, str]) -> str:
    """Answer the IVR with 1 (billing) and an account number; the waiting-loop path."""
    start = "/adapters/twilio/voice"
    doc = await twiml(server, start, params)
    intent_path = urljoin(start, doc.findall("Gather")[0].get("action", ""))
    doc = await twiml(server, intent_path, {**params, "Digits": "1"})
    account_path = urljoin(intent_path, doc.findall("Gather")[0].get("action", ""))
    doc = await twiml(server, account_path, {**params, "Digits": "778899"})
    assert "in the queue" in (doc.findtext("Say") or "") or "next in line" in (doc.findtext("Say") or "")
    return urljoin(account_path, doc.findtext("Redirect") or "")


async def test_ivr_billing_call_then_whatsapp_from_the_same_number(
    make_server: MakeServer, provider: Recorder
) -> None:
    async def graph(request: web.Request, raw: bytes) -> web.Response:
        return web.json_response(
            {"messaging_product": "whatsapp", "messages": [{"id": "wamid.AGENT-REPLY-1"}]}
        )

    provider.routes[("POST", "/v21.0/")] = graph
    server = await make_server(
        with_adapters(
            twilio_voice={"auth_token": TWILIO_TOKEN, "wait_pause_seconds": 1},
            whatsapp={
                "app_secret": META_SECRET,
                "verify_token": "v",
                "access_token": "graph-token",
                "base_url": provider.url,
                "api_version": "v21.0",
            },
        )
    )
    alice = await server.agent("alice")
    carol = await server.agent("carol")

    # 1. The call: the IVR's answers become attributes and route it to billing.
    params: dict[str, str] = {**fixture_json("twilio_voice/incoming_call.params.json"), "From": CALLER}
    wait_path = await call_through_ivr(server, params)
    offer, _ = await alice.accept_next()
    call = offer["interaction"]
    assert call["channel"] == "voice" and call["queue"] == "voice_billing"
    assert call["attributes"]["intent"] == "billing"
    assert call["attributes"]["account"] == "778899"
    in_context = {i["id"]: i for i in offer["context"]["interactions"]}
    assert in_context[call["id"]]["attributes"]["intent"] == "billing"
    assert ("phone", CALLER) in {(i["kind"], i["value"]) for i in offer["context"]["identities"]}

    # 2. The next loop of the waiting call bridges it to Alice's client.
    doc = await twiml(server, wait_path, params)
    assert doc.findtext("Dial/Client") == "alice"

    # 3. The caller hangs up after talking: the status callback ends the call (Alice completes it).
    status, _ = await post_twilio(
        server.url, "/adapters/twilio/voice/status", {**params, "CallStatus": "completed"}
    )
    assert status == 204
    ended = await interaction(server, call["id"])
    assert ended["end_reason"] == "call_completed" and ended["ended_at"] is not None

    # 4. WhatsApp from the same number: the same customer, and the offer shows the call.
    body = fixture_bytes("whatsapp_cloud/text_message.json")
    assert await post_meta(server.url, "/adapters/whatsapp", body) == 200
    w_offer, _ = await carol.accept_next()
    chat = w_offer["interaction"]
    assert chat["channel"] == "social" and chat["customer_id"] == call["customer_id"]
    assert w_offer["context"]["customer"]["id"] == call["customer_id"]
    earlier = {i["id"]: i for i in w_offer["context"]["interactions"]}[call["id"]]
    assert earlier["channel"] == "voice" and earlier["attributes"]["intent"] == "billing"
    # A provider retry of the same notification changes nothing.
    assert await post_meta(server.url, "/adapters/whatsapp", body) == 200
    assert len((await interaction(server, chat["id"]))["messages"]) == 1

    # 5. Carol's reply leaves through the Graph API in WhatsApp's format.
    ack = await carol.call(
        {"type": "send_message", "interaction_id": chat["id"], "body": "Yes, in blue and red."}
    )
    assert ack["type"] == "ack", ack
    sent = await carol.next("message_status", status="sent")
    [request] = provider.made("POST", "/v21.0/106540352242922/messages")
    assert request.headers["Authorization"] == "Bearer graph-token"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "text",
        "text": {"preview_url": False, "body": "Yes, in blue and red."},
    }

    # 6. WhatsApp's receipt for that wamid reaches the agent.
    receipt = json.loads(fixture_bytes("whatsapp_cloud/status_sent.json"))
    status_entry: dict[str, Any] = receipt["entry"][0]["changes"][0]["value"]["statuses"][0]
    status_entry.update(id="wamid.AGENT-REPLY-1", status="read")
    assert await post_meta(server.url, "/adapters/whatsapp", json.dumps(receipt).encode()) == 200
    read = await carol.next("message_status", status="read")
    assert read["message_id"] == sent["message_id"]
    messages = (await interaction(server, chat["id"]))["messages"]
    assert [(m["direction"], m["status"], m["external_id"]) for m in messages][-1] == (
        "outbound",
        "read",
        "wamid.AGENT-REPLY-1",
    )
    await asyncio.gather(alice.close(), carol.close())


async def test_caller_hanging_up_while_waiting_abandons_the_call(make_server: MakeServer) -> None:
    server = await make_server(with_adapters(twilio_voice={"auth_token": TWILIO_TOKEN}))
    params: dict[str, str] = {
        **fixture_json("twilio_voice/incoming_call.params.json"),
        "CallSid": "CA-hangup-1",
    }
    wait_path = await call_through_ivr(server, params)  # nobody with billing skills is online
    interaction_id = parse_qs(urlsplit(wait_path).query)["interaction"][0]
    waiting = await interaction(server, interaction_id)
    assert waiting["status"] == "queued" and waiting["attributes"]["intent"] == "billing"
    doc = await twiml(server, wait_path, params)
    assert doc.findtext("Say") is None  # still first in line: already said, the caller just holds
    assert doc.find("Pause") is not None and "step=wait" in (doc.findtext("Redirect") or "")
    status, _ = await post_twilio(
        server.url, "/adapters/twilio/voice/status", {**params, "CallStatus": "completed"}
    )
    assert status == 204
    assert (await interaction(server, interaction_id))["status"] == "abandoned"
    doc = await twiml(server, wait_path, params)
    assert doc.find("Hangup") is not None


async def test_withheld_numbers_are_never_one_customer(make_server: MakeServer) -> None:
    """Two calls from Twilio's placeholder for a withheld number and one from ``Anonymous``: three
    customers, each marked anonymous, and no offer shows another caller's note."""
    server = await make_server(with_adapters(twilio_voice={"auth_token": TWILIO_TOKEN}))
    alice = await server.agent("alice")
    base: dict[str, str] = fixture_json("twilio_voice/incoming_call.params.json")
    secret = "told us the door code is 4471"
    customers = []
    for n, caller in enumerate(("+266696687", "+266696687", "Anonymous")):
        await call_through_ivr(server, {**base, "From": caller, "CallSid": f"CA{n:032d}"})
        offer, _ = await alice.accept_next()
        call = offer["interaction"]
        assert call["from_kind"] == "anonymous_caller" and call["from_value"] == caller
        assert secret not in json.dumps(offer), "an anonymous caller's offer shows another caller's note"
        assert offer["context"]["customer"]["anonymous"] is True
        assert offer["context"]["identities"] == []
        assert [i["id"] for i in offer["context"]["interactions"]] == [call["id"]]
        customers.append(call["customer_id"])
        ack = await alice.call({"type": "add_note", "interaction_id": call["id"], "body": secret})
        assert ack["type"] == "ack", ack
        ack = await alice.call({"type": "complete", "interaction_id": call["id"]})
        assert ack["type"] == "ack", ack
    assert len(set(customers)) == 3
    await alice.close()
