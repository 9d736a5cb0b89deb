"""Through the running server: a caller waiting past the queue's ``callback_offer_after_seconds`` hears
the callback offer; pressing 1 asks the router for a callback on the caller's number and the call ends
with the place kept; when the agent accepts the callback, the voice adapter asks Twilio's REST API (a
recording server) to call the customer and bridge the agent."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urljoin
from xml.etree.ElementTree import Element, fromstring

from aiohttp import web

from tests.conftest import MakeServer
from tests.support.configs import routing, with_adapters
from tests.support.providers import TWILIO_TOKEN, fixture_json, post_twilio
from tests.support.recorders import Recorder
from tests.support.servers import TestServer

CALLER = "+16505551234"
CALLS = "/2010-04-01/Accounts/AC0123/Calls.json"
# the queue offers a callback after this wait: the first wait step below must come before it, one
# request after the enqueue, so it is long next to a request on a busy machine
OFFER_AFTER = 3.0


async def twiml(server: TestServer, path: str, params: dict[str, str]) -> Element:
    status, text = await post_twilio(server.url, path, params)
    assert status == 200, text
    return fromstring(text)


async def test_ivr_offers_a_callback_and_the_agent_s_accept_places_the_call(
    make_server: MakeServer, provider: Recorder
) -> None:
    async def calls(request: web.Request, raw: bytes) -> web.Response:
        return web.json_response({"sid": "CA-callback-1", "status": "queued"}, status=201)

    provider.routes[("POST", CALLS)] = calls
    config = (
        routing()
        .queue(
            "care",
            skills={"care": 1},
            channels=["voice"],
            wrapup_seconds=0,
            callback_offer_after_seconds=OFFER_AFTER,
            callback_attempts=2,
        )
        .agent("alice", name="Alice", skills={"care": 5}, capacity={"voice": 1}, address="client:alice")
    )
    server = await make_server(
        with_adapters(
            config,
            twilio_voice={
                "auth_token": TWILIO_TOKEN,
                "account_sid": "AC0123",
                "base_url": provider.url,
                "callback_from": "+15005550006",
                "wait_pause_seconds": 1,
                "ask_account": False,
                "queue": "care",
            },
        )
    )
    params: dict[str, str] = {**fixture_json("twilio_voice/incoming_call.params.json"), "From": CALLER}
    start = "/adapters/twilio/voice"
    doc = await twiml(server, start, params)
    intent_path = urljoin(start, doc.findall("Gather")[0].get("action", ""))
    doc = await twiml(server, intent_path, {**params, "Digits": "1"})
    account_path = urljoin(intent_path, doc.findtext("Redirect") or "")
    doc = await twiml(server, account_path, params)  # the call is enqueued
    enqueued = time.monotonic()  # no earlier than the router's enqueue time
    wait_path = urljoin(account_path, doc.findtext("Redirect") or "")

    # before the queue's callback_offer_after_seconds: no offer yet
    doc = await twiml(server, wait_path, params)
    assert doc.find("Gather") is None
    # past it (0.1 s for the clocks' rounding), however long the steps above took
    await asyncio.sleep(max(0.0, enqueued + OFFER_AFTER + 0.1 - time.monotonic()))
    doc = await twiml(server, wait_path, params)
    gather = doc.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert "press 1" in (gather.findtext("Say") or "")
    action = urljoin(wait_path, gather.get("action", ""))
    assert "step=callback" in action

    # 1: a callback on the caller's own number; the call ends, the place is kept
    doc = await twiml(server, action, {**params, "Digits": "1"})
    assert doc.find("Hangup") is not None and "keep your place" in (doc.findtext("Say") or "")
    iid = parse_qs(action.split("?", 1)[1])["interaction"][0]
    row = await server.pool.fetchrow("SELECT number FROM interaction_callbacks")
    assert row["number"] == CALLER
    status, _ = await post_twilio(
        server.url, "/adapters/twilio/voice/status", {**params, "CallStatus": "completed"}
    )
    assert status == 204
    assert await server.pool.fetchval("SELECT status FROM interactions") == "queued"
    assert provider.requests == []

    # the agent accepts the callback: the adapter asks Twilio to call the customer and bridge Alice
    alice = await server.agent("alice")
    offer = await alice.next("offer")
    assert offer["interaction"]["id"] == iid and offer["callback"]["number"] == CALLER
    ack = await alice.call({"type": "accept", "offer_id": offer["offer_id"]})
    assert ack["type"] == "ack" and ack["result"]["dialing"] is True, ack
    assert [(r.method, r.path) for r in provider.requests] == [("POST", CALLS)]
    form = {k: v[0] for k, v in parse_qs(provider.requests[0].body.decode()).items()}
    assert (form["To"], form["From"]) == (CALLER, "+15005550006")
    bridge = fromstring(form["Twiml"])
    assert bridge.findtext("Dial/Client") == "alice"
    assert provider.requests[0].headers["Authorization"].startswith("Basic ")
    await alice.close()
