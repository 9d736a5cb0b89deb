"""The provider-facing HTTP endpoints: signatures, what reaches the router, retries, outages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from adapters.meta.messenger import MessengerAdapter
from adapters.meta.whatsapp import WhatsAppAdapter
from adapters.twilio.sms import TwilioSmsAdapter
from router.sdk.client import RouterClient
from tests.support.providers import fixture_bytes, fixture_json, meta_headers, twilio_headers
from tests.support.recorders import RouterStub, serve_adapter

TOKEN = "twilio-auth-token-value"
APP_SECRET = "meta-app-secret-value"
PUBLIC = "https://contact.example.com"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

Client = TestClient[web.Request, web.Application]


def rejected_once(logs: list[MutableMapping[str, Any]], secret: str) -> MutableMapping[str, Any]:
    [line] = [entry for entry in logs if entry["event"] == "adapter.signature_invalid"]
    assert secret not in json.dumps(line, default=str)
    return line


# ---------------------------------------------------------------- Twilio SMS


@pytest.fixture
async def sms(router_client: RouterClient) -> AsyncIterator[Client]:
    adapter = TwilioSmsAdapter(
        {"account_sid": "AC1", "auth_token": TOKEN, "public_url": PUBLIC, "from_number": "+15550001111"},
        router_client,
    )
    client = await serve_adapter(adapter)
    yield client
    await client.close()
    await adapter.stop()


def sms_form() -> dict[str, str]:
    return dict(fixture_json("twilio_sms/incoming_sms.params.json"))


async def test_sms_signed_by_twilio_reaches_the_router(sms: Client, router_stub: RouterStub) -> None:
    body = fixture_bytes("twilio_sms/incoming_sms.txt")
    headers = {**FORM, **twilio_headers(TOKEN, PUBLIC + "/adapters/twilio/sms", sms_form())}
    resp = await sms.post("/adapters/twilio/sms", data=body, headers=headers)
    assert resp.status == 200
    assert resp.content_type == "text/xml"
    assert (await resp.text()).endswith("<Response />")
    [event] = router_stub.ingested()
    assert event["channel"] == "sms" and event["external_id"] == "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    assert event["from"] == {"kind": "phone", "value": "+15017122661"}
    assert router_stub.requests[0].headers["Authorization"] == "Bearer adapter-token"


async def test_sms_signature_over_url_with_default_port_is_accepted(
    sms: Client, router_stub: RouterStub
) -> None:
    url = "https://contact.example.com:443/adapters/twilio/sms"
    resp = await sms.post(
        "/adapters/twilio/sms",
        data=fixture_bytes("twilio_sms/incoming_sms.txt"),
        headers={**FORM, **twilio_headers(TOKEN, url, sms_form())},
    )
    assert resp.status == 200 and len(router_stub.ingested()) == 1


async def test_sms_with_the_recorded_empty_signature_is_refused(sms: Client, router_stub: RouterStub) -> None:
    recorded = fixture_json("twilio_sms/request_headers.json")
    headers = {k: v for k, v in recorded.items() if k not in ("Accept-Encoding",)}
    with capture_logs() as logs:
        resp = await sms.post(
            "/adapters/twilio/sms", data=fixture_bytes("twilio_sms/incoming_sms.txt"), headers=headers
        )
    assert resp.status == 403
    assert router_stub.requests == []
    assert rejected_once(logs, TOKEN)["reason"] == "missing"


async def test_sms_tampered_body_is_refused(sms: Client, router_stub: RouterStub) -> None:
    signed = twilio_headers(TOKEN, PUBLIC + "/adapters/twilio/sms", sms_form())
    tampered = fixture_bytes("twilio_sms/incoming_sms.txt").replace(b"Body=Ahoy", b"Body=Hello")
    with capture_logs() as logs:
        resp = await sms.post("/adapters/twilio/sms", data=tampered, headers={**FORM, **signed})
    assert resp.status == 403
    assert router_stub.requests == []
    assert rejected_once(logs, TOKEN)["reason"] == "mismatch"


async def test_sms_retry_posts_the_same_external_id(sms: Client, router_stub: RouterStub) -> None:
    body = fixture_bytes("twilio_sms/incoming_sms.txt")
    headers = {**FORM, **twilio_headers(TOKEN, PUBLIC + "/adapters/twilio/sms", sms_form())}
    for _ in range(2):
        assert (await sms.post("/adapters/twilio/sms", data=body, headers=headers)).status == 200
    first, second = router_stub.ingested()
    assert first == second
    assert len(router_stub.interactions) == 1


async def test_sms_router_down_answers_503_so_twilio_retries(sms: Client, router_stub: RouterStub) -> None:
    router_stub.fail_with = 503
    body = fixture_bytes("twilio_sms/incoming_sms.txt")
    headers = {**FORM, **twilio_headers(TOKEN, PUBLIC + "/adapters/twilio/sms", sms_form())}
    resp = await sms.post("/adapters/twilio/sms", data=body, headers=headers)
    assert resp.status == 503


async def test_sms_status_callback_records_the_receipt(sms: Client, router_stub: RouterStub) -> None:
    params = {"MessageSid": "SM42", "MessageStatus": "undelivered", "ErrorCode": "30003", "AccountSid": "AC1"}
    headers = twilio_headers(TOKEN, PUBLIC + "/adapters/twilio/sms/status", params)
    resp = await sms.post("/adapters/twilio/sms/status", data=params, headers=headers)
    assert resp.status == 204
    [status] = router_stub.made("POST", "/v1/messages/status")
    assert status.json() == {"external_id": "SM42", "status": "failed", "detail": "error 30003"}


# ---------------------------------------------------------------- WhatsApp


@pytest.fixture
async def whatsapp(router_client: RouterClient) -> AsyncIterator[Client]:
    adapter = WhatsAppAdapter(
        {"app_secret": APP_SECRET, "verify_token": "verify-me", "access_token": "wa-token"}, router_client
    )
    client = await serve_adapter(adapter)
    yield client
    await client.close()
    await adapter.stop()


def handshake_query(challenge: str, token: str) -> str:
    """The GET line of the recorded handshake, with its placeholders filled in."""
    lines = fixture_bytes("whatsapp_cloud/webhook_verification_GET.txt").decode().splitlines()
    [request_line] = [line for line in lines if line.startswith("GET ")]
    query = urlsplit(request_line.split(" ", 1)[1]).query
    query = query.replace("<random string or int>", challenge)
    return query.replace("<the token you configured in the App Dashboard>", token)


async def test_whatsapp_handshake_answers_the_challenge(whatsapp: Client) -> None:
    resp = await whatsapp.get("/adapters/whatsapp?" + handshake_query("1158201444", "verify-me"))
    assert resp.status == 200
    assert await resp.text() == "1158201444"


async def test_whatsapp_handshake_with_wrong_token_is_refused(whatsapp: Client) -> None:
    resp = await whatsapp.get("/adapters/whatsapp?" + handshake_query("1158201444", "guess"))
    assert resp.status == 403
    assert "1158201444" not in await resp.text()


async def test_whatsapp_message_signed_reaches_the_router(whatsapp: Client, router_stub: RouterStub) -> None:
    body = fixture_bytes("whatsapp_cloud/text_message.json")
    resp = await whatsapp.post("/adapters/whatsapp", data=body, headers=meta_headers(APP_SECRET, body))
    assert resp.status == 200
    [event] = router_stub.ingested()
    assert event["from"] == {"kind": "whatsapp", "value": "16505551234"}
    assert event["content"] == "Does it come in another color?"


async def test_whatsapp_status_is_recorded_by_wamid(whatsapp: Client, router_stub: RouterStub) -> None:
    body = fixture_bytes("whatsapp_cloud/status_sent.json")
    resp = await whatsapp.post("/adapters/whatsapp", data=body, headers=meta_headers(APP_SECRET, body))
    assert resp.status == 200
    [status] = router_stub.made("POST", "/v1/messages/status")
    assert status.json()["status"] == "sent"
    assert status.json()["external_id"].startswith("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0")


async def test_whatsapp_status_of_an_unknown_message_is_acknowledged(
    whatsapp: Client, router_stub: RouterStub
) -> None:
    router_stub.unknown_statuses = True
    body = fixture_bytes("whatsapp_cloud/status_sent.json")
    resp = await whatsapp.post("/adapters/whatsapp", data=body, headers=meta_headers(APP_SECRET, body))
    assert resp.status == 200


@pytest.mark.parametrize("header", [None, "sha256=" + "0" * 64, "tampered"])
async def test_whatsapp_bad_signature_is_refused(
    whatsapp: Client, router_stub: RouterStub, header: str | None
) -> None:
    body = fixture_bytes("whatsapp_cloud/text_message.json")
    headers = {"Content-Type": "application/json"}
    if header == "tampered":
        headers = meta_headers(APP_SECRET, body)
        body = body.replace(b"another color", b"another colour")
    elif header:
        headers["X-Hub-Signature-256"] = header
    with capture_logs() as logs:
        resp = await whatsapp.post("/adapters/whatsapp", data=body, headers=headers)
    assert resp.status == 403
    assert router_stub.requests == []
    assert rejected_once(logs, APP_SECRET)["adapter"] == "whatsapp"


async def test_whatsapp_router_down_answers_503(whatsapp: Client, router_stub: RouterStub) -> None:
    router_stub.fail_with = 500
    body = fixture_bytes("whatsapp_cloud/text_message.json")
    resp = await whatsapp.post("/adapters/whatsapp", data=body, headers=meta_headers(APP_SECRET, body))
    assert resp.status == 503


async def test_whatsapp_event_the_router_rejects_is_acknowledged(
    whatsapp: Client, router_stub: RouterStub
) -> None:
    router_stub.fail_with = 422
    body = fixture_bytes("whatsapp_cloud/text_message.json")
    with capture_logs() as logs:
        resp = await whatsapp.post("/adapters/whatsapp", data=body, headers=meta_headers(APP_SECRET, body))
    assert resp.status == 200
    assert [e["event"] for e in logs if e["event"].startswith("adapter.")] == ["adapter.ingest_rejected"]


# ---------------------------------------------------------------- Messenger


@pytest.fixture
async def messenger(router_client: RouterClient) -> AsyncIterator[Client]:
    adapter = MessengerAdapter(
        {"app_secret": APP_SECRET, "verify_token": "verify-me", "page_token": "page-token"}, router_client
    )
    client = await serve_adapter(adapter)
    yield client
    await client.close()
    await adapter.stop()


def page_envelope(relative: str) -> bytes:
    event = fixture_json(relative)
    return json.dumps({"object": "page", "entry": [{"id": "PAGE", "time": 1, "messaging": [event]}]}).encode()


async def test_messenger_handshake(messenger: Client) -> None:
    ok = await messenger.get("/adapters/messenger?" + handshake_query("abc", "verify-me"))
    assert ok.status == 200 and await ok.text() == "abc"
    bad = await messenger.get("/adapters/messenger?hub.mode=subscribe&hub.challenge=abc")
    assert bad.status == 403


async def test_messenger_message_and_delivery(messenger: Client, router_stub: RouterStub) -> None:
    for relative in ("messenger/messages_text_event.json", "messenger/message_deliveries_event.json"):
        body = page_envelope(relative)
        resp = await messenger.post("/adapters/messenger", data=body, headers=meta_headers(APP_SECRET, body))
        assert resp.status == 200
    [event] = router_stub.ingested()
    assert event["from"] == {"kind": "messenger", "value": "<PSID>"}
    [status] = router_stub.made("POST", "/v1/messages/status")
    assert status.json() == {
        "external_id": "mid.1458668856218:ed81099e15d3f4f233",
        "status": "delivered",
        "detail": None,
    }


async def test_messenger_bad_signature_is_refused(messenger: Client, router_stub: RouterStub) -> None:
    body = page_envelope("messenger/messages_text_event.json")
    with capture_logs() as logs:
        resp = await messenger.post(
            "/adapters/messenger", data=body, headers=meta_headers("some-other-secret", body)
        )
    assert resp.status == 403
    assert router_stub.requests == []
    assert rejected_once(logs, APP_SECRET)["adapter"] == "messenger"


async def test_whatsapp_odd_item_is_skipped_and_the_rest_goes_through(
    whatsapp: Client, router_stub: RouterStub
) -> None:
    payload = fixture_json("whatsapp_cloud/text_message.json")
    value = payload["entry"][0]["changes"][0]["value"]
    good = value["messages"][0]
    value["messages"] = [{"type": "text", "text": {"body": "no id, no sender"}}, good]
    value["statuses"] = [
        {"id": ["not", "a", "string"], "status": "read"},  # not a receipt of ours: ignored
        {"id": "wamid.X", "status": "failed", "errors": "not a list"},  # odd: skipped
    ]
    body = json.dumps(payload).encode()
    with capture_logs() as logs:
        resp = await whatsapp.post("/adapters/whatsapp", data=body, headers=meta_headers(APP_SECRET, body))
    assert resp.status == 200
    assert [e["external_id"] for e in router_stub.ingested()] == [good["id"]]
    [line] = [e for e in logs if e["event"] == "adapter.payload_skipped"]
    assert len(line["skipped"]) == 2 and line["skipped"][0].startswith("message: KeyError")


async def test_messenger_odd_event_is_skipped(messenger: Client, router_stub: RouterStub) -> None:
    good = fixture_json("messenger/messages_text_event.json")
    odd = {"sender": {"id": "P"}, "message": "not an object"}
    body = json.dumps({"object": "page", "entry": [{"id": "PAGE", "messaging": [odd, good]}]}).encode()
    with capture_logs() as logs:
        resp = await messenger.post("/adapters/messenger", data=body, headers=meta_headers(APP_SECRET, body))
    assert resp.status == 200
    assert [e["external_id"] for e in router_stub.ingested()] == [good["message"]["mid"]]
    assert [e["event"] for e in logs if e["event"] == "adapter.payload_skipped"] == [
        "adapter.payload_skipped"
    ]


async def test_sms_form_without_a_message_sid_is_refused(sms: Client, router_stub: RouterStub) -> None:
    params = {"From": "+15017122661", "Body": "no sid"}
    headers = twilio_headers(TOKEN, PUBLIC + "/adapters/twilio/sms", params)
    resp = await sms.post("/adapters/twilio/sms", data=params, headers=headers)
    assert resp.status == 400 and router_stub.requests == []


@pytest.mark.parametrize(
    ("router_status", "answer"), [(401, 503), (403, 503), (429, 503), (400, 200), (409, 200)]
)
async def test_router_refusals_sorted_into_retry_or_drop(
    whatsapp: Client, router_stub: RouterStub, router_status: int, answer: int
) -> None:
    router_stub.fail_with = router_status
    body = fixture_bytes("whatsapp_cloud/text_message.json")
    resp = await whatsapp.post("/adapters/whatsapp", data=body, headers=meta_headers(APP_SECRET, body))
    assert resp.status == answer
