"""A survey by SMS, through the Twilio SMS adapter: after the agent completes the text conversation the
customer is texted the queue's question; the number they text back is the answer (not a new contact),
shown in their context record; what they text after that is a contact again; and within the cooldown
their next completed conversation sends no survey. A call is surveyed by SMS to the caller."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from tests.conftest import MakeServer
from tests.support.configs import ADAPTERS_BASE, with_adapters
from tests.support.providers import TWILIO_TOKEN, fixture_json, post_twilio
from tests.support.recorders import Recorder

SMS = {"account_sid": "AC123", "auth_token": TWILIO_TOKEN, "from_number": "+15558675310"}
MESSAGES = "/2010-04-01/Accounts/AC123/Messages.json"


def numbered_answers() -> Any:
    sids = itertools.count(1)

    async def respond(request: web.Request, raw: bytes) -> web.Response:
        return web.json_response({"sid": f"SM-OUT-{next(sids)}", "status": "queued"}, status=201)

    return respond


async def texts_sent(provider: Recorder, count: int) -> list[dict[str, str]]:
    """The texts sent to the provider, once there are ``count`` of them."""

    async def wait() -> list[dict[str, str]]:
        while len(provider.made("POST", MESSAGES)) < count:
            await asyncio.sleep(0.02)
        return [dict(parse_qsl(r.body.decode())) for r in provider.made("POST", MESSAGES)]

    return await asyncio.wait_for(wait(), 10)


async def test_an_sms_survey_is_answered_by_a_number_and_held_to_the_cooldown(
    make_server: MakeServer, provider: Recorder
) -> None:
    provider.routes[("POST", MESSAGES)] = numbered_answers()
    config = ADAPTERS_BASE.queue("general", survey={"kind": "nps", "channel": "same"})
    server = await make_server(with_adapters(config, twilio_sms={**SMS, "base_url": provider.url}))
    carol = await server.agent("carol")
    params = fixture_json("twilio_sms/incoming_sms.params.json")
    assert (await post_twilio(server.url, "/adapters/twilio/sms", params))[0] == 200
    offer, _ = await carol.accept_next()
    first = offer["interaction"]["id"]
    customer = offer["interaction"]["customer_id"]
    assert (await carol.call({"type": "complete", "interaction_id": first}))["type"] == "ack"

    [question] = await texts_sent(provider, 1)
    assert question["To"] == "+15017122661"
    assert "recommend" in question["Body"] and "0 (not at all likely) to 10" in question["Body"]

    # the customer texts back a number: the answer to the survey, not a new contact
    reply = {**params, "MessageSid": "SM" + "c" * 32, "Body": " 9 "}
    assert (await post_twilio(server.url, "/adapters/twilio/sms", reply))[0] == 200
    assert await server.pool.fetchval("SELECT count(*) FROM interactions") == 1
    status, record = await server.request("GET", f"/v1/customers/{customer}/context", role="supervisor")
    assert status == 200
    [surveyed] = record["interactions"]
    assert surveyed["id"] == first
    assert (surveyed["survey"]["kind"], surveyed["survey"]["score"]) == ("nps", 9)
    assert surveyed["messages"][-1]["body"] == " 9 " and surveyed["messages"][-1]["direction"] == "inbound"
    answered = [e for e in record["events"] if e["type"] == "survey.answered"]
    assert [(e["data"]["score"], e["data"]["via"]) for e in answered] == [(9, "sms")]
    assert not carol.pending("offer")

    # the survey is answered: the next text, even a number, is a contact
    again = {**params, "MessageSid": "SM" + "d" * 32, "Body": "7"}
    assert (await post_twilio(server.url, "/adapters/twilio/sms", again))[0] == 200
    offer, _ = await carol.accept_next()
    second = offer["interaction"]["id"]
    assert second != first and offer["interaction"]["customer_id"] == customer
    assert (await carol.call({"type": "complete", "interaction_id": second}))["type"] == "ack"
    # within the cooldown (30 days by default): no second survey, and the completion said so at once
    assert await server.pool.fetchval("SELECT count(*) FROM survey_requests") == 1
    sent = await server.pool.fetchval(
        "SELECT count(*) FROM messages WHERE direction = 'outbound' AND body LIKE '%recommend%'"
    )
    assert sent == 1
    await carol.close()


async def test_a_text_that_is_no_number_closes_the_survey_and_is_a_contact(
    make_server: MakeServer, provider: Recorder
) -> None:
    provider.routes[("POST", MESSAGES)] = numbered_answers()
    config = ADAPTERS_BASE.queue("general", survey={"kind": "csat", "channel": "same"})
    server = await make_server(with_adapters(config, twilio_sms={**SMS, "base_url": provider.url}))
    carol = await server.agent("carol")
    params = fixture_json("twilio_sms/incoming_sms.params.json")
    assert (await post_twilio(server.url, "/adapters/twilio/sms", params))[0] == 200
    offer, _ = await carol.accept_next()
    assert (await carol.call({"type": "complete", "interaction_id": offer["interaction"]["id"]}))[
        "type"
    ] == "ack"
    await texts_sent(provider, 1)

    # 9 is off the CSAT scale (1 to 5): not an answer, a new contact; the survey closes
    off_scale = {**params, "MessageSid": "SM" + "e" * 32, "Body": "9"}
    assert (await post_twilio(server.url, "/adapters/twilio/sms", off_scale))[0] == 200
    await carol.accept_next()
    assert await server.pool.fetchval("SELECT count(*) FROM interactions") == 2
    assert await server.pool.fetchval("SELECT count(*) FROM surveys") == 0
    assert await server.pool.fetchval("SELECT count(*) FROM survey_requests WHERE closed_at IS NULL") == 0
    await carol.close()


async def test_a_call_is_surveyed_by_sms_and_the_texted_number_answers_it(
    make_server: MakeServer, provider: Recorder
) -> None:
    provider.routes[("POST", MESSAGES)] = numbered_answers()
    config = ADAPTERS_BASE.queue("voice_billing", survey={"kind": "csat", "channel": "same"})
    server = await make_server(with_adapters(config, twilio_sms={**SMS, "base_url": provider.url}))
    alice = await server.agent("alice")
    call = await server.ingest(
        channel="voice", queue="voice_billing", **{"from": {"kind": "phone", "value": "+15017122661"}}
    )
    offer, _ = await alice.accept_next()
    assert offer["interaction"]["id"] == call["id"]
    assert (await alice.call({"type": "complete", "interaction_id": call["id"]}))["type"] == "ack"

    [question] = await texts_sent(provider, 1)
    assert question["To"] == "+15017122661" and question["From"] == "+15558675310"
    assert "1 (not at all) to 5" in question["Body"]
    # the text is kept with the call, as an SMS
    channel = await server.pool.fetchval(
        "SELECT channel FROM messages WHERE interaction_id = $1 AND direction = 'outbound'",
        uuid.UUID(call["id"]),
    )
    assert channel == "sms"

    reply = {**fixture_json("twilio_sms/incoming_sms.params.json"), "Body": "4"}
    assert (await post_twilio(server.url, "/adapters/twilio/sms", reply))[0] == 200
    assert await server.pool.fetchval("SELECT count(*) FROM interactions") == 1
    row = await server.pool.fetchrow("SELECT interaction_id, kind, score FROM surveys")
    assert (str(row["interaction_id"]), row["kind"], row["score"]) == (call["id"], "csat", 4)
    await alice.close()


async def test_a_withheld_caller_is_not_texted(make_server: MakeServer, provider: Recorder) -> None:
    provider.routes[("POST", MESSAGES)] = numbered_answers()
    config = ADAPTERS_BASE.queue("voice_billing", survey={"kind": "csat", "channel": "same"})
    server = await make_server(with_adapters(config, twilio_sms={**SMS, "base_url": provider.url}))
    alice = await server.agent("alice")
    call = await server.ingest(
        channel="voice", queue="voice_billing", **{"from": {"kind": "phone", "value": "Anonymous"}}
    )
    await alice.accept_next()
    assert (await alice.call({"type": "complete", "interaction_id": call["id"]}))["type"] == "ack"
    # the survey is decided during the completion: nothing was recorded, nothing will be sent
    assert await server.pool.fetchval("SELECT count(*) FROM survey_requests") == 0
    assert await server.pool.fetchval("SELECT count(*) FROM messages") == 0
    assert provider.made("POST", MESSAGES) == []
    await alice.close()


async def test_the_web_chat_widget_shows_the_survey_and_the_typed_number_answers_it(
    make_server: MakeServer,
) -> None:
    config = ADAPTERS_BASE.queue("general", survey={"kind": "ces", "channel": "same"})
    server = await make_server(with_adapters(config, webchat={"poll_seconds": 0.1}))
    carol = await server.agent("carol")
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.url.replace("http", "ws") + "/adapters/webchat/socket")
        await ws.send_json({"type": "hello", "visitor_id": "survey-visitor-1"})
        assert (await ws.receive_json(timeout=5))["type"] == "welcome"
        await ws.send_json({"type": "message", "id": "c1", "text": "Where is my parcel?"})
        offer, _ = await carol.accept_next()
        chat = offer["interaction"]["id"]
        assert (await carol.call({"type": "complete", "interaction_id": chat}))["type"] == "ack"

        async def survey_line() -> dict[str, Any]:
            while True:
                frame = await ws.receive_json(timeout=5)
                if frame["type"] == "message" and frame["sender"] == "agent":
                    return dict(frame)

        line = await asyncio.wait_for(survey_line(), 10)
        assert "1 (very easy) to 7 (very difficult)" in line["text"]
        await ws.send_json({"type": "message", "id": "c2", "text": "2"})

        async def answered() -> int:
            while (score := await server.pool.fetchval("SELECT score FROM surveys")) is None:
                await asyncio.sleep(0.05)
            return int(score)

        assert await asyncio.wait_for(answered(), 10) == 2
        assert await server.pool.fetchval("SELECT count(*) FROM interactions") == 1
        await ws.close()
    await carol.close()


async def test_a_number_in_a_conversation_going_on_stays_in_it(
    make_server: MakeServer, provider: Recorder
) -> None:
    """A call's survey went by SMS while the caller's SMS conversation is still going on: the number they
    text there is for the agent in that conversation, not the survey's answer."""
    provider.routes[("POST", MESSAGES)] = numbered_answers()
    config = ADAPTERS_BASE.queue("voice_billing", survey={"kind": "csat", "channel": "same"})
    server = await make_server(with_adapters(config, twilio_sms={**SMS, "base_url": provider.url}))
    alice, carol = await server.agent("alice"), await server.agent("carol")
    params = fixture_json("twilio_sms/incoming_sms.params.json")
    assert (await post_twilio(server.url, "/adapters/twilio/sms", params))[0] == 200
    sms_offer, _ = await carol.accept_next()
    call = await server.ingest(
        channel="voice", queue="voice_billing", **{"from": {"kind": "phone", "value": "+15017122661"}}
    )
    await alice.accept_next()
    assert (await alice.call({"type": "complete", "interaction_id": call["id"]}))["type"] == "ack"
    await texts_sent(provider, 1)

    number = {**params, "MessageSid": "SM" + "f" * 32, "Body": "3"}
    assert (await post_twilio(server.url, "/adapters/twilio/sms", number))[0] == 200
    bodies = await server.pool.fetch(
        "SELECT body FROM messages WHERE interaction_id = $1 ORDER BY created_at",
        uuid.UUID(sms_offer["interaction"]["id"]),
    )
    assert [r["body"] for r in bodies] == ["Ahoy", "3"]
    assert await server.pool.fetchval("SELECT count(*) FROM surveys") == 0
    await alice.close()
    await carol.close()
