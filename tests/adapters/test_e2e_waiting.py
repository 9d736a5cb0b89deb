"""Through the running server, the customer's wait as the adapters show it: a closed queue told by the
voice IVR (spoken, then hung up) and by the web chat (shown, with a message left as an e-mail
interaction), and the web chat's questions answered while waiting reaching the agent's offer."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import fromstring
from zoneinfo import ZoneInfo

import aiohttp

from adapters.twilio.ivr import describe_closed
from router.contracts.waiting import BusinessHours
from router.routing.hours import Hours
from tests.conftest import MakeServer
from tests.support.configs import ADAPTERS_BASE, with_adapters
from tests.support.providers import TWILIO_TOKEN, fixture_json, post_twilio
from tests.support.servers import TestServer

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEOUL = ZoneInfo("Asia/Seoul")


def closed_now() -> dict[str, Any]:
    """Seoul hours that are closed now: one hour a day, far from the current time there."""
    window = ["01:00", "02:00"] if datetime.now(SEOUL).hour >= 12 else ["22:00", "23:00"]
    return {"timezone": "Asia/Seoul", "weekly": {d: [window] for d in DAYS}}


async def frame(ws: aiohttp.ClientWebSocketResponse, wanted: str) -> dict[str, Any]:
    while True:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        if data["type"] == wanted:
            return data
        assert data["type"] != "error", data


async def test_voice_says_the_queue_is_closed_and_when_it_opens_then_hangs_up(
    make_server: MakeServer,
) -> None:
    hours = closed_now()
    config = with_adapters(
        ADAPTERS_BASE.queue("voice_billing", hours=hours, closed_action="reject"),
        twilio_voice={"auth_token": TWILIO_TOKEN, "timezone": "Asia/Seoul"},
    )
    server = await make_server(config)
    alice = await server.agent("alice")
    params: dict[str, str] = fixture_json("twilio_voice/incoming_call.params.json")
    start = "/adapters/twilio/voice"
    status, text = await post_twilio(server.url, start, params)
    intent_path = urljoin(start, fromstring(text).findall("Gather")[0].get("action", ""))
    status, text = await post_twilio(server.url, intent_path, {**params, "Digits": "1"})
    account_path = urljoin(intent_path, fromstring(text).findall("Gather")[0].get("action", ""))
    status, text = await post_twilio(server.url, account_path, {**params, "Digits": "778899"})
    assert status == 200, text
    doc = fromstring(text)
    opens = Hours(BusinessHours.model_validate(hours)).opens_at(datetime.now(UTC))
    said = doc.findtext("Say") or ""
    assert said == describe_closed(opens, SEOUL)
    assert said.startswith("Sorry, we are closed. We open again") and opens is not None
    assert opens.astimezone(SEOUL).strftime("%H:%M") in said
    assert doc.find("Hangup") is not None and doc.find("Redirect") is None
    # the call is recorded as closed, never offered
    row = await server.pool.fetchrow(
        "SELECT status, queue_id, attributes FROM interactions WHERE channel = 'voice' AND external_id = $1",
        params["CallSid"],
    )
    assert row["status"] == "closed" and row["queue_id"] == "voice_billing"
    await asyncio.sleep(0.3)
    assert alice.pending("offer") == []
    await alice.close()


async def test_webchat_shows_closed_and_a_message_left_becomes_an_email(make_server: MakeServer) -> None:
    config = with_adapters(
        ADAPTERS_BASE.queue("general", hours=closed_now(), closed_action="reject").queue(
            "messages", channels=["email"], skills={"general": 1}
        ),
        webchat={"poll_seconds": 0.1, "queue": "general", "message_queue": "messages"},
    )
    server = await make_server(config)
    visitor = "visitor-" + uuid.uuid4().hex[:12]
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.url.replace("http", "ws") + "/adapters/webchat/socket")
        await ws.send_json({"type": "hello", "visitor_id": visitor})
        await frame(ws, "welcome")
        await ws.send_json({"type": "message", "id": "m1", "text": "Is anyone there?"})
        ack = await frame(ws, "ack")
        closed = await frame(ws, "closed")
        assert closed["interaction_id"] == ack["interaction_id"] and closed["leave_message"] is True
        assert closed["opens_at"] is not None and datetime.fromisoformat(closed["opens_at"]) > datetime.now(
            UTC
        )
        await ws.send_json(
            {
                "type": "leave_message",
                "id": "l1",
                "text": "Please call me back about my bill",
                "email": "ann@example.com",
            }
        )
        left = await frame(ws, "message_left")
        await ws.close()
    chat = await server.pool.fetchrow(
        "SELECT status, customer_id FROM interactions WHERE id = $1", uuid.UUID(ack["interaction_id"])
    )
    assert chat["status"] == "closed"
    email = await server.pool.fetchrow(
        "SELECT channel, status, queue_id, subject, customer_id FROM interactions WHERE id = $1",
        uuid.UUID(left["interaction_id"]),
    )
    assert (email["channel"], email["status"], email["queue_id"]) == ("email", "queued", "messages")
    assert email["customer_id"] == chat["customer_id"], "the message left is the same customer's"
    body = await server.pool.fetchval(
        "SELECT body FROM messages WHERE interaction_id = $1", uuid.UUID(left["interaction_id"])
    )
    assert body == "Please call me back about my bill"


async def test_webchat_answers_while_waiting_reach_the_agent(make_server: MakeServer) -> None:
    questions = [
        {"id": "intent", "text": "What is it about?"},
        {"id": "account", "text": "Your account number?"},
    ]
    config = with_adapters(
        ADAPTERS_BASE.queue("general", questions=questions),
        webchat={"poll_seconds": 0.1, "queue": "general"},
    )
    server: TestServer = await make_server(config)
    visitor = "visitor-" + uuid.uuid4().hex[:12]
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.url.replace("http", "ws") + "/adapters/webchat/socket")
        await ws.send_json({"type": "hello", "visitor_id": visitor})
        await frame(ws, "welcome")
        await ws.send_json({"type": "message", "id": "m1", "text": "Hello"})
        ack = await frame(ws, "ack")
        first = await frame(ws, "question")
        assert first == {"type": "question", "id": "intent", "text": "What is it about?"}
        status = await frame(ws, "status")
        assert status["status"] == "queued" and status["position"] == 1
        # an answer to a question not asked is refused, nothing is stored
        await ws.send_json({"type": "answer", "question_id": "account", "text": "999"})
        assert (await frame(ws, "error"))["detail"] == "that question is not asked now"
        await ws.send_json({"type": "answer", "question_id": "intent", "text": "refund"})
        second = await frame(ws, "question")
        assert second["id"] == "account"
        await ws.send_json({"type": "answer", "question_id": "account", "text": "A-778899"})
        # the last answer is stored before the agent comes: wait for it in the record
        for _ in range(100):
            attributes = await server.pool.fetchval(
                "SELECT attributes FROM interactions WHERE id = $1", uuid.UUID(ack["interaction_id"])
            )
            if "account" in (json.loads(attributes) if isinstance(attributes, str) else attributes):
                break
            await asyncio.sleep(0.05)
        carol = await server.agent("carol")
        offer = await carol.next("offer")
        assert offer["interaction"]["id"] == ack["interaction_id"]
        assert offer["interaction"]["attributes"]["intent"] == "refund"
        assert offer["interaction"]["attributes"]["account"] == "A-778899"
        await ws.close()
        await carol.close()


def test_the_closed_message_names_the_day_in_the_adapters_time_zone() -> None:
    now = datetime(2026, 11, 27, 20, 0, tzinfo=SEOUL)  # a Friday evening in Seoul
    said = describe_closed(datetime(2026, 11, 30, 0, 0, tzinfo=UTC), SEOUL, now)  # Monday 09:00 Seoul
    assert said == "Sorry, we are closed. We open again on Monday at 09:00. Please call back then. Goodbye."
    tomorrow = describe_closed(datetime(2026, 11, 28, 1, 0, tzinfo=UTC), SEOUL, now)
    assert "We open again tomorrow at 10:00." in tomorrow
    later_today = describe_closed(datetime(2026, 11, 27, 13, 30, tzinfo=UTC), SEOUL, now)
    assert "We open again today at 22:30." in later_today
    far = describe_closed(datetime(2027, 1, 4, 0, 0, tzinfo=UTC), SEOUL, now)
    assert "We open again on January 4 at 09:00." in far
    assert describe_closed(None, SEOUL, now) == "Sorry, we are closed. Please call again later. Goodbye."
