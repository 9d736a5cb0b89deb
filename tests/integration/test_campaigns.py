"""Customers' preferences and campaigns through the running server, with the providers as recording
servers: consent, the preferred channel and its fallback, quiet hours in the customer's time zone, the
WhatsApp template outside the 24-hour window, receipts, and a reply that lands in the reply queue."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from aiohttp import web

from router.contracts.campaigns import QuietHours
from router.service.campaigns import quiet_until
from router.service.preferences import zone_of_number
from tests.conftest import MakeServer
from tests.support.configs import ALL_CHANNELS, with_adapters
from tests.support.ports import free_port
from tests.support.providers import (
    META_SECRET,
    TWILIO_TOKEN,
    fixture_bytes,
    fixture_json,
    post_meta,
    post_twilio,
)
from tests.support.recorders import Recorder, SmtpRelay
from tests.support.servers import TestServer

MESSAGES_PATH = "/2010-04-01/Accounts/AC123/Messages.json"
GRAPH_PATH = "/v21.0/PNID/messages"

KIM = "+821012345678"  # WhatsApp (preferred: social); Asia/Seoul from the number
SAM = "+14155550100"  # prefers e-mail but has no address: SMS, the first fallback
STOPPER = "+12125550100"  # texted STOP: skipped
NIGHT = "+16175550100"  # SMS, in Asia/Kolkata as set, and inside the quiet hours
EVE = "eve@example.com"  # e-mail


def twilio_answers() -> Any:
    counter = itertools.count(1)

    async def respond(request: web.Request, raw: bytes) -> web.Response:
        return web.json_response({"sid": f"SM-CAMPAIGN-{next(counter)}", "status": "queued"}, status=201)

    return respond


async def graph(request: web.Request, raw: bytes) -> web.Response:
    return web.json_response({"messaging_product": "whatsapp", "messages": [{"id": "wamid.CAMPAIGN-1"}]})


async def customer_of(server: TestServer, kind: str, value: str) -> str:
    status, body = await server.request(
        "POST",
        "/v1/journey-events",
        {"identity": {"kind": kind, "value": value}, "type": "signed_up", "data": {}},
        role="adapter",
    )
    assert status == 201, body
    return str(body["customer_id"])


async def patch(server: TestServer, customer_id: str, **fields: Any) -> dict[str, Any]:
    status, body = await server.request("PATCH", f"/v1/customers/{customer_id}", fields, role="supervisor")
    assert status == 200, body
    return dict(body)


async def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def sms_to(provider: Recorder, number: str) -> list[str]:
    return [
        dict(parse_qsl(r.body.decode()))["Body"]
        for r in provider.made("POST", MESSAGES_PATH)
        if dict(parse_qsl(r.body.decode()))["To"] == number
    ]


async def test_a_campaign_on_preferred_channels_with_consent_quiet_hours_and_a_reply(
    make_server: MakeServer, provider: Recorder, relay: SmtpRelay
) -> None:
    provider.routes[("POST", MESSAGES_PATH)] = twilio_answers()
    provider.routes[("POST", "/v21.0/")] = graph
    config = (
        with_adapters(
            twilio_sms={
                "account_sid": "AC123",
                "auth_token": TWILIO_TOKEN,
                "from_number": "+15558675310",
                "base_url": provider.url,
            },
            whatsapp={
                "app_secret": META_SECRET,
                "verify_token": "v",
                "access_token": "graph-token",
                "base_url": provider.url,
                "api_version": "v21.0",
                "phone_number_id": "PNID",
            },
            email={"smtp_port": free_port(), "relay_port": relay.port, "from_address": "news@shop.example"},
        )
        .queue(
            "campaign_replies",
            skills={"general": 1},
            channels=ALL_CHANNELS,
            offer_timeout_seconds=10,
            wrapup_seconds=0,
        )
        .with_outbound(campaign_poll_seconds=0.1)
    )
    server = await make_server(config)

    # 1. STOP by SMS: that customer opts out before the campaign
    stop = {**fixture_json("twilio_sms/incoming_sms.params.json"), "From": STOPPER, "Body": "STOP"}
    stop.update(MessageSid="SMstop", SmsMessageSid="SMstop", SmsSid="SMstop")
    assert (await post_twilio(server.url, "/adapters/twilio/sms", stop))[0] == 200
    stopper = await customer_of(server, "phone", STOPPER)

    kim = await customer_of(server, "phone", KIM)
    eve = await customer_of(server, "email", EVE)
    sam = await customer_of(server, "phone", SAM)
    night = await customer_of(server, "phone", NIGHT)
    await patch(server, kim, preferred_channel="social", language="ko")
    await patch(server, eve, preferred_channel="email")
    await patch(server, sam, preferred_channel="email")
    await patch(server, stopper, preferred_channel="sms")
    await patch(server, night, preferred_channel="sms", timezone="Asia/Kolkata")

    # quiet hours around now on the night customer's clock: everyone else is hours away from them
    local = datetime.now(ZoneInfo("Asia/Kolkata"))
    quiet_end = (local + timedelta(seconds=6)).replace(microsecond=0)
    quiet = {"start": (local - timedelta(minutes=1)).strftime("%H:%M"), "end": quiet_end.strftime("%H:%M:%S")}
    text = "Planned outage on Tuesday 02:00-04:00. Reply with questions."
    campaign = {
        "id": "outage-42",
        "purpose": "notifications",
        "message": {
            "text": text,
            "per_channel": {"email": text + "\n\nThe network team"},
            "subject": "Planned outage",
            "whatsapp_template": {"name": "outage_notice", "language": "ko", "params": ["Tuesday"]},
        },
        "audience": {"customer_ids": [kim, eve, sam, stopper, night]},
        "channel": "preferred",
        "fallback": ["sms", "email"],
        "quiet_hours": quiet,
        "rate_per_second": 20,
        "reply_queue": "campaign_replies",
    }
    status, body = await server.request("POST", "/v1/campaigns", campaign, role="supervisor")
    assert status == 201, body
    assert body["status"] == "draft" and body["audience_size"] == 5 and body["counts"]["queued"] == 5
    status, again = await server.request("POST", "/v1/campaigns", campaign, role="supervisor")
    assert status == 409, again
    await asyncio.sleep(0.3)
    assert provider.made("POST", MESSAGES_PATH) == [
        r for r in provider.made("POST", MESSAGES_PATH) if dict(parse_qsl(r.body.decode()))["To"] == STOPPER
    ]

    status, body = await server.request("POST", "/v1/campaigns/outage-42/start", role="supervisor")
    assert status == 200 and body["status"] == "running", body

    async def first_pass() -> dict[str, Any] | None:
        _, got = await server.request("GET", "/v1/campaigns/outage-42", role="supervisor")
        counts = got["counts"]
        done = counts["sent"] + counts["delivered"] + counts["read"]
        return got if done == 3 and counts["deferred_quiet_hours"] == 1 else None

    got = await wait_for(first_pass)
    assert got["counts"]["skipped_no_consent"] == 1 and got["counts"]["queued"] == 0
    _, deferred = await server.request(
        "GET", "/v1/campaigns/outage-42/recipients?status=deferred_quiet_hours", role="supervisor"
    )
    [row] = deferred["recipients"]
    assert row["customer_id"] == night and row["channel"] == "sms"
    assert abs(datetime.fromisoformat(row["deferred_until"]) - quiet_end) < timedelta(seconds=1)
    assert sms_to(provider, NIGHT) == []
    _, skipped = await server.request(
        "GET", "/v1/campaigns/outage-42/recipients?status=skipped_no_consent", role="supervisor"
    )
    assert [r["customer_id"] for r in skipped["recipients"]] == [stopper]

    # WhatsApp: no message from Kim in 24 hours, so the template goes
    [wa] = provider.made("POST", GRAPH_PATH)
    assert wa.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": KIM.lstrip("+"),
        "type": "template",
        "template": {
            "name": "outage_notice",
            "language": {"code": "ko"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Tuesday"}]}],
        },
    }
    # e-mail at the relay, with the e-mail's own text
    [(_, rcpt, raw)] = relay.received
    mail = message_from_bytes(raw)
    assert rcpt == [EVE] and mail["Subject"] == "Planned outage"
    assert mail["Message-ID"].startswith("<campaign-")  # one id per campaign message: a copy is the same mail
    content = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert content.strip() == text + "\n\nThe network team"
    # SMS as the fallback of a preferred channel without an address
    assert sms_to(provider, SAM) == [text]
    # the customer who texted STOP got only the confirmation of the STOP
    assert text not in sms_to(provider, STOPPER)

    # Eve opts out of notifications by e-mail while the campaign runs: her message counts as opted out
    status, _ = await server.request(
        "PUT",
        f"/v1/customers/{eve}/consent/email",
        {"status": "opted_out", "purpose": "notifications", "source": "phone call"},
        role="supervisor",
    )
    assert status == 200
    _, opted = await server.request(
        "GET", "/v1/campaigns/outage-42/recipients?status=opted_out", role="supervisor"
    )
    assert [(r["customer_id"], r["detail"]) for r in opted["recipients"]] == [
        (eve, "opted out after the message")
    ]

    # 2. the quiet hours end: the deferred customer gets it then
    async def all_sent() -> dict[str, Any] | None:
        _, got = await server.request("GET", "/v1/campaigns/outage-42", role="supervisor")
        return got if got["status"] == "completed" else None

    done = await wait_for(all_sent)
    assert sms_to(provider, NIGHT) == [text]
    assert datetime.now(UTC) >= quiet_end
    assert done["counts"]["deferred_quiet_hours"] == 0 and done["counts"]["skipped_no_consent"] == 1
    assert done["counts"]["sent"] + done["counts"]["delivered"] == 3 and done["counts"]["opted_out"] == 1

    # 3. a delivery receipt reaches the recipient's outcome
    _, night_rows = await server.request("GET", "/v1/campaigns/outage-42/recipients", role="supervisor")
    by_customer = {r["customer_id"]: r for r in night_rows["recipients"]}
    night_sid = next(
        f"SM-CAMPAIGN-{n}"
        for n, r in enumerate(provider.made("POST", MESSAGES_PATH), 1)
        if dict(parse_qsl(r.body.decode()))["To"] == NIGHT
    )
    receipt = {"MessageSid": night_sid, "MessageStatus": "delivered", "AccountSid": "AC123"}
    assert (await post_twilio(server.url, "/adapters/twilio/sms/status", receipt))[0] == 204

    async def delivered() -> list[dict[str, Any]]:
        _, rows = await server.request(
            "GET", "/v1/campaigns/outage-42/recipients?status=delivered", role="supervisor"
        )
        return list(rows["recipients"])

    assert [r["customer_id"] for r in await wait_for(delivered)] == [night]

    # every send is in the customer's journey
    _, context = await server.request("GET", f"/v1/customers/{kim}/context", role="supervisor")
    sent_events = [e for e in context["events"] if e["type"] == "campaign.sent"]
    assert [(e["data"]["campaign_id"], e["data"]["channel"]) for e in sent_events] == [
        ("outage-42", "whatsapp")
    ]

    # 4. Sam answers by SMS: a new interaction in the reply queue, whose context shows the campaign message
    carol = await server.agent("carol")
    answer = {**fixture_json("twilio_sms/incoming_sms.params.json"), "From": SAM, "Body": "Which streets?"}
    answer.update(MessageSid="SManswer", SmsMessageSid="SManswer", SmsSid="SManswer")
    assert (await post_twilio(server.url, "/adapters/twilio/sms", answer))[0] == 200
    offer, _ = await carol.accept_next()
    reply = offer["interaction"]
    assert reply["queue"] == "campaign_replies" and reply["customer_id"] == sam
    assert reply["attributes"]["campaign_id"] == "outage-42"
    assert reply["attributes"]["campaign_message"] == text
    sent_before = [
        i
        for i in offer["context"]["interactions"]
        if i["attributes"].get("campaign_id") == "outage-42" and i["id"] != reply["id"]
    ]
    assert [m["body"] for i in sent_before for m in i["messages"]] == [text]
    assert any(e["type"] == "campaign.sent" and e["data"]["text"] == text for e in offer["context"]["events"])
    sam_row = by_customer[sam]
    assert sam_row["status"] == "sent"
    _, replied = await server.request(
        "GET", "/v1/campaigns/outage-42/recipients?status=replied", role="supervisor"
    )
    assert [(r["customer_id"], r["reply_interaction_id"]) for r in replied["recipients"]] == [
        (sam, reply["id"])
    ]
    await carol.close()

    # a finished campaign cannot start again; unknown ones are 404
    status, _ = await server.request("POST", "/v1/campaigns/outage-42/start", role="supervisor")
    assert status == 409
    status, _ = await server.request("GET", "/v1/campaigns/nope", role="supervisor")
    assert status == 404


async def test_a_paused_campaign_sends_nothing_until_started_and_start_at_schedules(
    make_server: MakeServer, provider: Recorder
) -> None:
    provider.routes[("POST", MESSAGES_PATH)] = twilio_answers()
    config = with_adapters(
        twilio_sms={
            "account_sid": "AC123",
            "auth_token": TWILIO_TOKEN,
            "from_number": "+15558675310",
            "base_url": provider.url,
        }
    ).with_outbound(campaign_poll_seconds=0.1)
    server = await make_server(config)
    ids = [await customer_of(server, "phone", f"+1415555{n:04d}") for n in range(101, 104)]
    start_at = datetime.now(UTC) + timedelta(seconds=2)
    body = {
        "id": "later",
        "purpose": "notifications",
        "message": {"text": "Your bill is ready"},
        "audience": {"customer_ids": [*ids, ids[0], "00000000-0000-0000-0000-000000000000"]},
        "fallback": ["sms"],
        "rate_per_second": 50,
        "start_at": start_at.isoformat(),
    }
    status, made = await server.request("POST", "/v1/campaigns", body, role="supervisor")
    assert status == 201 and made["audience_size"] == 3, made
    status, paused = await server.request("POST", "/v1/campaigns/later/pause", role="supervisor")
    assert status == 200 and paused["status"] == "paused", paused
    await asyncio.sleep(0.5)
    assert provider.made("POST", MESSAGES_PATH) == []  # paused: nothing is sent
    status, started = await server.request("POST", "/v1/campaigns/later/start", role="supervisor")
    assert status == 200 and started["status"] == "running", started
    await asyncio.sleep(1.0)
    assert provider.made("POST", MESSAGES_PATH) == []  # start_at has not come

    async def finished() -> bool:
        _, got = await server.request("GET", "/v1/campaigns/later", role="supervisor")
        return bool(got["status"] == "completed")

    await wait_for(finished)
    assert datetime.now(UTC) >= start_at
    sent = sorted(dict(parse_qsl(r.body.decode()))["To"] for r in provider.made("POST", MESSAGES_PATH))
    assert sent == [f"+1415555{n:04d}" for n in range(101, 104)]

    status, cancelled = await server.request("POST", "/v1/campaigns/later/cancel", role="supervisor")
    assert status == 409, cancelled  # completed


async def test_preferences_are_validated_and_the_timezone_comes_from_an_unambiguous_number(
    server: TestServer,
) -> None:
    seoul = await customer_of(server, "phone", KIM)
    toll_free = await customer_of(server, "phone", "+18005550100")
    status, body = await server.request("GET", f"/v1/customers/{seoul}", role="supervisor")
    assert status == 200
    assert (body["timezone"], body["timezone_source"], body["preferred_channel"]) == (
        "Asia/Seoul",
        "phone",
        None,
    )
    _, body = await server.request("GET", f"/v1/customers/{toll_free}", role="supervisor")
    assert (body["timezone"], body["timezone_source"]) == (None, None)

    for bad, loc in (
        ({"preferred_channel": "fax"}, "preferred_channel"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"language": "english please"}, "language"),
        ({"language": "k"}, "language"),
        ({"nickname": "x"}, "nickname"),
    ):
        status, problem = await server.request("PATCH", f"/v1/customers/{seoul}", bad, role="supervisor")
        assert status == 422, (bad, problem)
        assert loc in str(problem["errors"]), problem
    status, problem = await server.request("PATCH", f"/v1/customers/{seoul}", {}, role="supervisor")
    assert status == 422, problem
    _, unchanged = await server.request("GET", f"/v1/customers/{seoul}", role="supervisor")
    assert unchanged["preferred_channel"] is None and unchanged["language"] is None

    set_ = await patch(server, seoul, preferred_channel="sms", timezone="Europe/Berlin", language="ko-KR")
    assert (set_["preferred_channel"], set_["timezone"], set_["timezone_source"], set_["language"]) == (
        "sms",
        "Europe/Berlin",
        "set",
        "ko-KR",
    )
    # only what is named changes; null clears the set zone, and the number's zone shows again
    cleared = await patch(server, seoul, timezone=None)
    assert (cleared["preferred_channel"], cleared["timezone"], cleared["timezone_source"]) == (
        "sms",
        "Asia/Seoul",
        "phone",
    )
    status, _ = await server.request(
        "PATCH", "/v1/customers/00000000-0000-0000-0000-000000000000", {"language": "en"}, role="supervisor"
    )
    assert status == 404
    status, _ = await server.request("PATCH", f"/v1/customers/{seoul}", {"language": "en"}, role="adapter")
    assert status == 403


def test_zones_of_numbers() -> None:
    assert zone_of_number("+821012345678") == "Asia/Seoul"
    assert zone_of_number("+18005550100") is None  # toll free: every zone of +1
    assert zone_of_number("+15551234567") is None  # not a real number: Etc/Unknown
    assert zone_of_number(None) is None


def test_quiet_hours_span_midnight_on_the_customers_clock() -> None:
    seoul = ZoneInfo("Asia/Seoul")
    quiet = QuietHours(start="21:00", end="08:00")
    late = datetime(2026, 3, 2, 23, 30, tzinfo=seoul)
    assert quiet_until(quiet, seoul, late) == datetime(2026, 3, 3, 8, 0, tzinfo=seoul)
    early = datetime(2026, 3, 3, 7, 59, tzinfo=seoul)
    assert quiet_until(quiet, seoul, early) == datetime(2026, 3, 3, 8, 0, tzinfo=seoul)
    assert quiet_until(quiet, seoul, datetime(2026, 3, 3, 8, 0, tzinfo=seoul)) is None
    assert quiet_until(quiet, seoul, datetime(2026, 3, 3, 12, 0, tzinfo=seoul)) is None
    day = QuietHours(start="12:00", end="13:00")
    assert quiet_until(day, seoul, datetime(2026, 3, 3, 12, 30, tzinfo=seoul)) == datetime(
        2026, 3, 3, 13, 0, tzinfo=seoul
    )
    # the same instant is quiet in Seoul and not in New York
    instant = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # 23:30 in Seoul, 09:30 in New York
    assert quiet_until(quiet, seoul, instant) is not None
    assert quiet_until(quiet, ZoneInfo("America/New_York"), instant) is None


async def test_whatsapp_inside_the_24_hour_window_gets_the_text(
    make_server: MakeServer, provider: Recorder
) -> None:
    provider.routes[("POST", "/v21.0/")] = graph
    whatsapp = {
        "app_secret": META_SECRET,
        "verify_token": "v",
        "access_token": "graph-token",
        "base_url": provider.url,
        "api_version": "v21.0",
        "phone_number_id": "PNID",
    }
    server = await make_server(with_adapters(whatsapp=whatsapp).with_outbound(campaign_poll_seconds=0.1))
    # the customer wrote by WhatsApp a moment ago (wa_id 16505551234)
    assert (
        await post_meta(server.url, "/adapters/whatsapp", fixture_bytes("whatsapp_cloud/text_message.json"))
        == 200
    )
    customer = await customer_of(server, "phone", "+16505551234")
    await patch(server, customer, preferred_channel="social")
    body = {
        "id": "in-window",
        "purpose": "notifications",
        "message": {
            "text": "Your order has shipped",
            "whatsapp_template": {"name": "order_shipped", "language": "en"},
        },
        "audience": {"customer_ids": [customer]},
    }
    assert (await server.request("POST", "/v1/campaigns", body, role="supervisor"))[0] == 201
    await server.request("POST", "/v1/campaigns/in-window/start", role="supervisor")

    async def sent() -> list[Any]:
        return provider.made("POST", GRAPH_PATH)

    [request] = await wait_for(sent)
    assert request.json()["type"] == "text" and request.json()["text"]["body"] == "Your order has shipped"
    assert request.json()["to"] == "16505551234"
