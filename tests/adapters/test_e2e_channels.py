"""Through the running server: SMS, Messenger and web chat in, the agent's reply out in each
provider's format, and the providers' receipts back on the agent's message."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from router.sdk.host import FIRST_DELAY
from router.service.reconciler import RECONCILER
from tests.conftest import MakeServer
from tests.support.configs import with_adapters
from tests.support.providers import META_SECRET, TWILIO_TOKEN, fixture_json, post_meta, post_twilio
from tests.support.recorders import Recorder
from tests.support.servers import interaction

SMS = {
    "account_sid": "AC123",
    "auth_token": TWILIO_TOKEN,
    "from_number": "+15558675310",
}


def answer(body: dict[str, Any], status: int = 200) -> Any:
    async def respond(request: web.Request, raw: bytes) -> web.Response:
        return web.json_response(body, status=status)

    return respond


async def test_sms_in_reply_out_through_the_messages_api(make_server: MakeServer, provider: Recorder) -> None:
    provider.routes[("POST", "/2010-04-01/Accounts/AC123/Messages.json")] = answer(
        {"sid": "SM-REPLY-1", "status": "queued"}, 201
    )
    server = await make_server(with_adapters(twilio_sms={**SMS, "base_url": provider.url}))
    carol = await server.agent("carol")
    params = fixture_json("twilio_sms/incoming_sms.params.json")
    status, text = await post_twilio(server.url, "/adapters/twilio/sms", params)
    assert status == 200 and text.endswith("<Response />")
    offer, _ = await carol.accept_next()
    sms = offer["interaction"]
    assert sms["channel"] == "sms" and offer["context"]["customer"]["phone"] == "+15017122661"

    # A second text from the same number joins the open conversation.
    later = {**params, "MessageSid": "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "Body": "Are you there?"}
    assert (await post_twilio(server.url, "/adapters/twilio/sms", later))[0] == 200
    bodies = [m["body"] for m in (await interaction(server, sms["id"]))["messages"]]
    assert bodies == ["Ahoy", "Are you there?"]

    ack = await carol.call(
        {"type": "send_message", "interaction_id": sms["id"], "body": "Ahoy! How can I help?"}
    )
    assert ack["type"] == "ack", ack
    # the router's hand-over ("queued") and the adapter's report of Twilio's answer may arrive in
    # either order; a status never moves back, so the first frame is whichever landed first
    queued = await carol.next("message_status", interaction_id=sms["id"])
    assert queued["status"] in ("queued", "sent")
    [request] = provider.made("POST", "/2010-04-01/Accounts/AC123/Messages.json")
    assert dict(parse_qsl(request.body.decode())) == {
        "To": "+15017122661",
        "From": "+15558675310",
        "Body": "Ahoy! How can I help?",
    }
    assert request.headers["Authorization"].startswith("Basic ")

    receipt = {"MessageSid": "SM-REPLY-1", "MessageStatus": "delivered", "AccountSid": "AC123"}
    assert (await post_twilio(server.url, "/adapters/twilio/sms/status", receipt))[0] == 204
    delivered = await carol.next("message_status", status="delivered")
    assert delivered["message_id"] == queued["message_id"]
    await carol.close()


async def test_sms_provider_refusal_is_shown_to_the_agent(
    make_server: MakeServer, provider: Recorder
) -> None:
    provider.routes[("POST", "/2010-04-01/Accounts/AC123/Messages.json")] = answer(
        {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}, 400
    )
    server = await make_server(with_adapters(twilio_sms={**SMS, "base_url": provider.url}))
    carol = await server.agent("carol")
    assert (
        await post_twilio(
            server.url, "/adapters/twilio/sms", fixture_json("twilio_sms/incoming_sms.params.json")
        )
    )[0] == 200
    offer, _ = await carol.accept_next()
    ack = await carol.call(
        {"type": "send_message", "interaction_id": offer["interaction"]["id"], "body": "Hi"}
    )
    assert ack["type"] == "ack", ack
    failed = await carol.next("message_status", status="failed")
    assert "21610" in (failed.get("detail") or "")
    assert len(provider.made("POST", "/2010-04-01/")) == 1  # a permanent refusal is not retried
    await carol.close()


async def test_messenger_in_reply_out_and_delivery(make_server: MakeServer, provider: Recorder) -> None:
    delivered_mid = fixture_json("messenger/message_deliveries_event.json")["delivery"]["mids"][0]
    provider.routes[("POST", "/v21.0/me/messages")] = answer(
        {"recipient_id": "<PSID>", "message_id": delivered_mid}
    )
    server = await make_server(
        with_adapters(
            messenger={
                "app_secret": META_SECRET,
                "verify_token": "v",
                "page_token": "page-token",
                "base_url": provider.url,
                "api_version": "v21.0",
            }
        )
    )
    carol = await server.agent("carol")

    def envelope(relative: str) -> bytes:
        event = fixture_json(relative)
        return json.dumps(
            {"object": "page", "entry": [{"id": "<PAGE_ID>", "time": 1, "messaging": [event]}]}
        ).encode()

    assert (
        await post_meta(server.url, "/adapters/messenger", envelope("messenger/messages_text_event.json"))
        == 200
    )
    offer, _ = await carol.accept_next()
    chat = offer["interaction"]
    assert chat["channel"] == "social" and chat["from_kind"] == "messenger"
    ack = await carol.call({"type": "send_message", "interaction_id": chat["id"], "body": "Hello to you too"})
    assert ack["type"] == "ack", ack
    await carol.next("message_status", status="sent")
    [request] = provider.made("POST", "/v21.0/me/messages")
    assert request.json() == {
        "recipient": {"id": "<PSID>"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hello to you too"},
    }
    assert (
        await post_meta(
            server.url, "/adapters/messenger", envelope("messenger/message_deliveries_event.json")
        )
        == 200
    )
    await carol.next("message_status", status="delivered")
    await carol.close()


async def test_webchat_visitor_waits_then_chats_and_a_typed_phone_only_suggests_a_match(
    make_server: MakeServer,
) -> None:
    server = await make_server(with_adapters(webchat={"poll_seconds": 0.1}, twilio_sms={**SMS}))
    # A customer is known from an earlier SMS; the visitor types that number, which proves nothing.
    params = fixture_json("twilio_sms/incoming_sms.params.json")
    assert (await post_twilio(server.url, "/adapters/twilio/sms", params))[0] == 200

    async with aiohttp.ClientSession() as session:
        page = await session.get(server.url + "/adapters/webchat/")
        assert page.status == 200 and "<title>Chat with us</title>" in await page.text()
        ws = await session.ws_connect(server.url.replace("http", "ws") + "/adapters/webchat/socket")
        await ws.send_json({"type": "hello", "visitor_id": "e2e-visitor-1", "phone": "+1 (501) 712-2661"})
        assert (await ws.receive_json(timeout=5))["type"] == "welcome"
        await ws.send_json({"type": "message", "id": "c1", "text": "Hi, about my SMS"})
        frames = [await ws.receive_json(timeout=5), await ws.receive_json(timeout=5)]
        ack = next(f for f in frames if f["type"] == "ack")
        waiting = next(f for f in frames if f["type"] == "status")
        assert waiting["status"] == "queued" and waiting["position"] == 2  # behind the SMS

        carol = await server.agent("carol")
        offers = [await carol.accept_next(), await carol.accept_next()]
        chat = next(o for o, _ in offers if o["interaction"]["id"] == ack["interaction_id"])
        sms = next(o for o, _ in offers if o["interaction"]["channel"] == "sms")
        assert chat["interaction"]["customer_id"] != sms["interaction"]["customer_id"]
        assert {i["channel"] for i in chat["context"]["interactions"]} == {"chat"}
        assert chat["context"]["possible_matches"] == [
            {"customer_id": sms["interaction"]["customer_id"], "name": None, "matched": ["phone"]}
        ]
        assert chat["interaction"]["attributes"] == {"contact_unverified": True}

        # the page is told as soon as the adapter's next poll sees the assignment (a poll already in
        # flight may still report "queued")
        while (status := await ws.receive_json(timeout=5))["type"] != "status" or status[
            "status"
        ] == "queued":
            pass
        assert status["status"] == "assigned" and status["agent_id"] == "carol"
        ack2 = await carol.call(
            {"type": "send_message", "interaction_id": ack["interaction_id"], "body": "Hi, I'm Carol"}
        )
        assert ack2["type"] == "ack", ack2
        line = await ws.receive_json(timeout=5)
        assert (line["type"], line["sender"], line["text"]) == ("message", "agent", "Hi, I'm Carol")
        await carol.next("message_status", status="delivered")
        await ws.close()

        # A reload resumes the conversation with its history.
        again = await session.ws_connect(server.url.replace("http", "ws") + "/adapters/webchat/socket")
        await again.send_json(
            {"type": "hello", "visitor_id": "e2e-visitor-1", "interaction_id": ack["interaction_id"]}
        )
        welcome = await again.receive_json(timeout=5)
        assert [(h["sender"], h["text"]) for h in welcome["history"]] == [
            ("customer", "Hi, about my SMS"),
            ("agent", "Hi, I'm Carol"),
        ]
        await again.close()
    await carol.close()


async def test_sms_provider_outage_is_retried_until_the_reply_leaves(
    make_server: MakeServer, provider: Recorder
) -> None:
    calls: list[int] = []

    async def flaky(request: web.Request, raw: bytes) -> web.Response:
        calls.append(1)
        if len(calls) == 1:
            return web.json_response({"code": 20500, "message": "Internal Server Error"}, status=503)
        return web.json_response({"sid": "SM-AFTER-OUTAGE", "status": "queued"}, status=201)

    provider.routes[("POST", "/2010-04-01/Accounts/AC123/Messages.json")] = flaky
    server = await make_server(with_adapters(twilio_sms={**SMS, "base_url": provider.url}))
    carol = await server.agent("carol")
    params = fixture_json("twilio_sms/incoming_sms.params.json")
    assert (await post_twilio(server.url, "/adapters/twilio/sms", params))[0] == 200
    offer, _ = await carol.accept_next()
    ack = await carol.call(
        {"type": "send_message", "interaction_id": offer["interaction"]["id"], "body": "Hi"}
    )
    assert ack["type"] == "ack", ack
    retrying = await carol.next("message_status", status="retrying")
    assert "503" in (retrying.get("detail") or "")
    # the repair's redelivery of unsent replies meanwhile: this one is the adapter's to retry, handed over
    # already, and is not sent a second time
    await server.server[RECONCILER].resubmit_pending()
    for _ in range(100):  # the host retries after its backoff; the reply then carries Twilio's sid
        messages = (await interaction(server, offer["interaction"]["id"]))["messages"]
        outbound = [m for m in messages if m["direction"] == "outbound"]
        if outbound[0]["external_id"]:
            break
        await asyncio.sleep(0.1)
    assert [(m["id"], m["external_id"]) for m in outbound] == [(retrying["message_id"], "SM-AFTER-OUTAGE")]
    await asyncio.sleep(2 * FIRST_DELAY)  # a second hand-over's send would have reached the provider by now
    assert len(provider.made("POST", "/2010-04-01/")) == 2
    await carol.close()


async def test_webchat_pages_opened_before_the_first_message_reach_the_chats_offer(
    make_server: MakeServer,
) -> None:
    server = await make_server(with_adapters(webchat={"poll_seconds": 0.1}))
    visitor = "e2e-browsing-visitor"
    async with aiohttp.ClientSession() as session:
        socket_url = server.url.replace("http", "ws") + "/adapters/webchat/socket"
        for url, title in (
            ("https://shop.example/pricing", "Pri\x00cing\ud800"),
            ("https://shop.example/help", ""),
        ):
            ws = await session.ws_connect(socket_url)
            await ws.send_json({"type": "hello", "visitor_id": visitor})
            assert (await ws.receive_json(timeout=5))["type"] == "welcome"
            await ws.send_json({"type": "page_view", "url": url, "title": title})
            await ws.close()
        # the page views were posted without an answer to the page: wait until both are recorded
        for _ in range(100):
            rows = await server.pool.fetch(
                "SELECT data FROM journey_events WHERE type = 'page_view' ORDER BY at"
            )
            if len(rows) == 2:
                break
            await asyncio.sleep(0.05)
        assert [r["data"] for r in rows] == [
            {"url": "https://shop.example/pricing", "title": "Pricing"},
            {"url": "https://shop.example/help"},
        ]
        ws = await session.ws_connect(socket_url)
        await ws.send_json({"type": "hello", "visitor_id": visitor})
        assert (await ws.receive_json(timeout=5))["type"] == "welcome"
        await ws.send_json({"type": "page_view", "url": "x" * 3000})  # too long: an error frame, socket open
        assert (await ws.receive_json(timeout=5))["type"] == "error"
        # a lone surrogate (a broken paste) is dropped; the rest of the customer's words arrive
        await ws.send_json({"type": "message", "id": "m1", "text": "Which plan \ud800fits me?"})
        carol = await server.agent("carol")
        offer, _ = await carol.accept_next()
        pages = [e["data"]["url"] for e in offer["context"]["events"] if e["type"] == "page_view"]
        assert pages == ["https://shop.example/help", "https://shop.example/pricing"]
        assert offer["context"]["identities"][0]["value"] == visitor
        assert [m["body"] for m in offer["interaction"]["messages"]] == ["Which plan fits me?"]
        await ws.close()
    await carol.close()
