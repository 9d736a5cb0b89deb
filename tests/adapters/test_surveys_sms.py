"""A survey by SMS, through the Twilio SMS adapter: after the agent completes the text conversation the
customer is texted the queue's question; the number they text back is the answer (not a new contact),
shown in their context record; what they text after that is a contact again; and within the cooldown
their next completed conversation sends no survey."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any
from urllib.parse import parse_qsl

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
