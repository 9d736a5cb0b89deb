"""The Twilio voice IVR, walked step by step as Twilio would: signed requests, TwiML answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urljoin
from xml.etree.ElementTree import Element, fromstring

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from adapters.twilio.voice import TwilioVoiceAdapter
from router.sdk.client import RouterClient
from tests.support.providers import fixture_json, twilio_headers
from tests.support.recorders import RouterStub, serve_adapter

TOKEN = "voice-auth-token"
PUBLIC = "https://voice.example.com"
Client = TestClient[web.Request, web.Application]


class Call:
    """One caller: posts the call's params (plus step inputs) to a path, signed, like Twilio."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.params: dict[str, str] = fixture_json("twilio_voice/incoming_call.params.json")

    async def post(self, path: str, **inputs: str) -> Element:
        params = {**self.params, **inputs}
        headers = twilio_headers(TOKEN, PUBLIC + path, params)
        resp = await self.client.post(path, data=params, headers=headers)
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "text/xml"
        return fromstring(await resp.text())

    async def status(self, call_status: str) -> int:
        params = {**self.params, "CallStatus": call_status}
        path = "/adapters/twilio/voice/status"
        resp = await self.client.post(path, data=params, headers=twilio_headers(TOKEN, PUBLIC + path, params))
        return resp.status


def follow(current: str, relative: str | None) -> str:
    assert relative
    return urljoin(current, relative)


@pytest.fixture
async def voice(router_client: RouterClient) -> AsyncIterator[Client]:
    adapter = TwilioVoiceAdapter(
        {
            "auth_token": TOKEN,
            "public_url": PUBLIC,
            "wait_pause_seconds": 5,
            "queues": {"billing": "billing"},
        },
        router_client,
    )
    client = await serve_adapter(adapter)
    yield client
    await client.close()


async def walk_to_queue(call: Call, **intent_input: str) -> tuple[str, Element]:
    """Start the call, answer the intent and account prompts; the path of the waiting loop."""
    start = "/adapters/twilio/voice"
    doc = await call.post(start)
    gather = doc.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf speech"
    assert "For billing, press 1" in (gather.findtext("Say") or "")
    intent_path = follow(start, gather.get("action"))
    doc = await call.post(intent_path, **intent_input)
    gather = doc.find("Gather")
    assert gather is not None and gather.get("finishOnKey") == "#"
    account_path = follow(intent_path, gather.get("action"))
    doc = await call.post(account_path, Digits="12345")
    return follow(account_path, doc.findtext("Redirect")), doc


async def test_ivr_collects_intent_and_account_then_queues(voice: Client, router_stub: RouterStub) -> None:
    wait_path, doc = await walk_to_queue(Call(voice), Digits="1")
    [event] = router_stub.ingested()
    assert event["channel"] == "voice"
    assert event["external_id"] == "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    assert event["from"] == {"kind": "phone", "value": "+15017122661"}
    assert event["queue"] == "billing"
    assert event["attributes"]["intent"] == "billing"
    assert event["attributes"]["account"] == "12345"
    assert event["attributes"]["ivr_input"] == "dtmf"
    assert doc.findtext("Say") == (
        "You are number 2 in the queue. Your estimated wait is about 2 minutes. Please stay on the line."
    )
    assert doc.find("Pause") is not None and doc.find("Pause").get("length") == "5"  # type: ignore[union-attr]
    interaction_id = next(iter(router_stub.interactions))
    assert wait_path == f"/adapters/twilio/voice?step=wait&interaction={interaction_id}&p=2&q=0"


async def test_spoken_intent_is_understood(voice: Client, router_stub: RouterStub) -> None:
    await walk_to_queue(Call(voice), SpeechResult="Hi, I have a question about billing please.")
    [event] = router_stub.ingested()
    assert event["attributes"]["intent"] == "billing"
    assert event["attributes"]["ivr_input"] == "speech"


async def test_no_answer_twice_falls_back_to_the_default_intent(
    voice: Client, router_stub: RouterStub
) -> None:
    call = Call(voice)
    doc = await call.post("/adapters/twilio/voice?step=intent&n=1", Digits="9")
    assert (doc.findtext("Say") or "").startswith("Sorry")
    gather = doc.find("Gather")
    assert gather is not None and gather.get("action") == "voice?step=intent&n=2"
    doc = await call.post("/adapters/twilio/voice?step=intent&n=2")
    gather = doc.find("Gather")
    assert gather is not None and gather.get("action") == "voice?step=account&intent=general"


async def test_waiting_loop_says_position_then_bridges_to_the_agent(
    voice: Client, router_stub: RouterStub
) -> None:
    call = Call(voice)
    wait_path, _ = await walk_to_queue(call, Digits="1")
    interaction = next(iter(router_stub.interactions.values()))
    interaction.update(position=1, estimated_wait_seconds=20.0)
    doc = await call.post(wait_path)
    assert doc.findtext("Say") == (
        "You are next in line. Your estimated wait is less than a minute. Please stay on the line."
    )
    assert follow(wait_path, doc.findtext("Redirect")) == wait_path.replace("p=2&q=0", "p=1&q=0")

    interaction.update(status="assigned", agent_id="alice", agent_address="client:alice", position=None)
    doc = await call.post(wait_path)
    dial = doc.find("Dial")
    assert dial is not None and dial.findtext("Client") == "alice"
    assert dial.get("action", "").startswith("voice?step=dialed")

    interaction["agent_address"] = "sip:alice@pbx.example.com"
    doc = await call.post(wait_path)
    assert doc.find("Dial/Sip") is not None and doc.findtext("Dial/Sip") == "sip:alice@pbx.example.com"

    dialed = follow(wait_path, dial.get("action"))
    doc = await call.post(dialed, DialCallStatus="completed")
    assert doc.find("Hangup") is not None
    doc = await call.post(dialed, DialCallStatus="no-answer")
    assert doc.find("Hangup") is None and "step=wait" in (doc.findtext("Redirect") or "")


async def test_hang_up_while_waiting_ends_the_interaction(voice: Client, router_stub: RouterStub) -> None:
    call = Call(voice)
    await walk_to_queue(call, Digits="2")
    assert await call.status("ringing") == 204
    assert router_stub.made("POST", "/v1/interactions/") == []
    assert await call.status("completed") == 204
    [end] = router_stub.made("POST", "/v1/interactions/")
    assert end.path.endswith("/end") and end.json() == {"reason": "call_completed"}
    assert next(iter(router_stub.interactions.values()))["status"] == "abandoned"


async def test_hang_up_during_the_ivr_posts_nothing(voice: Client, router_stub: RouterStub) -> None:
    call = Call(voice)
    await call.post("/adapters/twilio/voice")
    with capture_logs() as logs:
        assert await call.status("canceled") == 204
    assert router_stub.requests == []
    assert [e["event"] for e in logs] == ["adapter.call_ended_before_ivr_done"]


async def test_closed_interaction_hangs_up(voice: Client, router_stub: RouterStub) -> None:
    call = Call(voice)
    wait_path, _ = await walk_to_queue(call, Digits="3")
    next(iter(router_stub.interactions.values()))["status"] = "completed"
    doc = await call.post(wait_path)
    assert doc.find("Hangup") is not None


async def test_router_down_holds_the_caller_and_retries(voice: Client, router_stub: RouterStub) -> None:
    call = Call(voice)
    router_stub.fail_with = 503
    path = "/adapters/twilio/voice?step=account&intent=billing"
    doc = await call.post(path, Digits="77")
    assert doc.findtext("Say") == "Please hold."
    retry = follow(path, doc.findtext("Redirect"))
    assert retry == "/adapters/twilio/voice?step=account&intent=billing&account=77&r=1"
    router_stub.fail_with = None
    # Twilio posts the redirect without the gathered digits: they travel in the URL.
    doc = await call.post(retry)
    assert "step=wait" in (doc.findtext("Redirect") or "")
    failed, accepted = router_stub.ingested()
    assert failed == accepted and accepted["attributes"]["account"] == "77"
    assert len(router_stub.interactions) == 1


async def test_unsigned_voice_request_is_refused(voice: Client, router_stub: RouterStub) -> None:
    params = fixture_json("twilio_voice/incoming_call.params.json")
    headers = twilio_headers("not-the-token", PUBLIC + "/adapters/twilio/voice", params)
    with capture_logs() as logs:
        resp = await voice.post("/adapters/twilio/voice", data=params, headers=headers)
        status = await voice.post("/adapters/twilio/voice/status", data=params)
    assert (resp.status, status.status) == (403, 403)
    assert router_stub.requests == []
    assert [e["reason"] for e in logs if e["event"] == "adapter.signature_invalid"] == ["mismatch", "missing"]


async def test_caller_input_cannot_inject_twiml(voice: Client) -> None:
    doc = await Call(voice).post(
        "/adapters/twilio/voice?step=intent&n=2", SpeechResult="</Say><Dial>+1900</Dial>"
    )
    assert doc.find("Dial") is None


async def test_position_is_said_when_it_changes_and_every_half_minute(
    voice: Client, router_stub: RouterStub
) -> None:
    call = Call(voice)
    wait_path, _ = await walk_to_queue(call, Digits="1")  # said "number 2", pauses of 5 s
    said = []
    for _ in range(7):
        doc = await call.post(wait_path)
        said.append(doc.findtext("Say"))
        wait_path = follow(wait_path, doc.findtext("Redirect"))
    # The stub's live position is 1 (the ingest answer said 2): said once, then again after 30 s.
    assert [s is not None for s in said] == [True, False, False, False, False, False, True]
    assert doc.find("Pause") is not None


async def test_voice_form_without_a_call_sid_is_refused(voice: Client, router_stub: RouterStub) -> None:
    params = {"From": "+15017122661", "Digits": "1"}
    path = "/adapters/twilio/voice?step=account&intent=billing"
    resp = await voice.post(path, data=params, headers=twilio_headers(TOKEN, PUBLIC + path, params))
    assert resp.status == 400 and router_stub.requests == []
