"""Agents' replies leave in each provider's format, to real servers on loopback; failures are
classified (5xx, 429 and unreachable retry; other 4xx do not)."""

from __future__ import annotations

import base64
import json
import socket
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from adapters.email.adapter import EmailAdapter
from adapters.meta.messenger import MessengerAdapter
from adapters.meta.whatsapp import WhatsAppAdapter
from adapters.twilio.sms import TwilioSmsAdapter
from adapters.twilio.voice import TwilioVoiceAdapter
from adapters.webchat.adapter import WebChatAdapter
from router.contracts import OutboundMessage
from router.sdk.adapter import DeliveryError
from router.sdk.client import RouterClient
from tests.support.providers import meta_headers
from tests.support.recorders import Recorder, RouterStub, SmtpRelay, serve_adapter


def reply(channel: str, kind: str, value: str, **extra: Any) -> OutboundMessage:
    return OutboundMessage.model_validate(
        {
            "message_id": "msg-1",
            "interaction_id": "int-1",
            "conversation_id": "conv-1",
            "customer_id": "cus-1",
            "channel": channel,
            "to": {"kind": kind, "value": value},
            "body": "Your refund is on its way.",
            "agent_id": "alice",
            **extra,
        }
    )


def answer(status: int, body: dict[str, Any]) -> Any:
    async def respond(request: web.Request, raw: bytes) -> web.Response:
        return web.json_response(body, status=status)

    return respond


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- Twilio SMS

MESSAGES = "/2010-04-01/Accounts/AC123/Messages.json"


def sms_adapter(provider: Recorder, router_client: RouterClient, **config: Any) -> TwilioSmsAdapter:
    base = {
        "account_sid": "AC123",
        "auth_token": "tok",
        "base_url": provider.url,
        "from_number": "+15550001111",
    }
    return TwilioSmsAdapter({**base, **config}, router_client)


async def test_sms_reply_goes_to_the_messages_api(provider: Recorder, router_client: RouterClient) -> None:
    provider.routes[("POST", MESSAGES)] = answer(201, {"sid": "SM900", "status": "queued"})
    adapter = sms_adapter(provider, router_client, public_url="https://cc.example.com")
    accepted = await adapter.send(reply("sms", "phone", "+15017122661"))
    await adapter.stop()
    assert (accepted.external_id, accepted.status) == ("SM900", "queued")
    [request] = provider.requests
    assert request.path == MESSAGES
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"AC123:tok").decode()
    assert dict(parse_qsl(request.body.decode())) == {
        "To": "+15017122661",
        "From": "+15550001111",
        "Body": "Your refund is on its way.",
        "StatusCallback": "https://cc.example.com/adapters/twilio/sms/status",
    }


async def test_sms_reply_through_a_messaging_service(provider: Recorder, router_client: RouterClient) -> None:
    provider.routes[("POST", MESSAGES)] = answer(201, {"sid": "SM901", "status": "accepted"})
    adapter = sms_adapter(provider, router_client, messaging_service_sid="MG1", from_number="")
    await adapter.send(reply("sms", "phone", "+15017122661"))
    await adapter.stop()
    form = dict(parse_qsl(provider.requests[0].body.decode()))
    assert form["MessagingServiceSid"] == "MG1" and "From" not in form and "StatusCallback" not in form


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (401, False), (404, False)]
)
async def test_sms_failures_are_classified(
    provider: Recorder, router_client: RouterClient, status: int, retryable: bool
) -> None:
    provider.routes[("POST", MESSAGES)] = answer(
        status, {"code": 21211, "message": "Invalid 'To' Phone Number"}
    )
    adapter = sms_adapter(provider, router_client)
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(reply("sms", "phone", "+1"))
    await adapter.stop()
    assert (caught.value.status, caught.value.retryable) == (status, retryable)
    assert "21211" in caught.value.detail


async def test_sms_provider_unreachable_is_retryable(router_client: RouterClient) -> None:
    adapter = TwilioSmsAdapter(
        {
            "account_sid": "AC1",
            "auth_token": "t",
            "from_number": "+1555",
            "base_url": f"http://127.0.0.1:{closed_port()}",
        },
        router_client,
    )
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(reply("sms", "phone", "+15017122661"))
    await adapter.stop()
    assert caught.value.retryable and caught.value.status is None


# ---------------------------------------------------------------- WhatsApp


def whatsapp_adapter(provider: Recorder, router_client: RouterClient) -> WhatsAppAdapter:
    config = {
        "base_url": provider.url,
        "api_version": "v21.0",
        "phone_number_id": "PN-CONFIG",
        "access_token": "wa-access",
        "app_secret": "s",
        "verify_token": "v",
    }
    return WhatsAppAdapter(config, router_client)


async def test_whatsapp_reply_goes_to_the_graph_messages_endpoint(
    provider: Recorder, router_client: RouterClient
) -> None:
    provider.routes[("POST", "/v21.0/")] = answer(
        200,
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": "wamid.OUT1"}],
        },
    )
    adapter = whatsapp_adapter(provider, router_client)
    sent = await adapter.send(
        reply("social", "whatsapp", "16505551234", attributes={"whatsapp_phone_number_id": "106540352242922"})
    )
    escalated = await adapter.send(reply("social", "phone", "+16505551234"))
    await adapter.stop()
    assert sent.external_id == "wamid.OUT1"
    first, second = provider.requests
    assert first.path == "/v21.0/106540352242922/messages"
    assert second.path == "/v21.0/PN-CONFIG/messages"
    assert first.headers["Authorization"] == "Bearer wa-access"
    assert first.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "text",
        "text": {"preview_url": False, "body": "Your refund is on its way."},
    }
    assert second.json()["to"] == "16505551234"
    assert escalated.external_id == "wamid.OUT1"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (400, False)])
async def test_whatsapp_failures_are_classified(
    provider: Recorder, router_client: RouterClient, status: int, retryable: bool
) -> None:
    provider.routes[("POST", "/v21.0/")] = answer(
        status, {"error": {"message": "(#131030) Recipient phone number not in allowed list", "code": 131030}}
    )
    adapter = whatsapp_adapter(provider, router_client)
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(reply("social", "whatsapp", "1"))
    await adapter.stop()
    assert caught.value.retryable is retryable and "131030" in caught.value.detail


# ---------------------------------------------------------------- Messenger


async def test_messenger_reply_and_its_read_receipt(
    provider: Recorder, router_client: RouterClient, router_stub: RouterStub
) -> None:
    provider.routes[("POST", "/v21.0/me/messages")] = answer(
        200, {"recipient_id": "PSID1", "message_id": "m_OUT"}
    )
    adapter = MessengerAdapter(
        {"base_url": provider.url, "page_token": "page-tok", "app_secret": "sec", "verify_token": "v"},
        router_client,
    )
    sent = await adapter.send(reply("social", "messenger", "PSID1"))
    assert sent.external_id == "m_OUT"
    [request] = provider.requests
    assert request.headers["Authorization"] == "Bearer page-tok"
    assert "access_token" not in request.query
    assert request.json() == {
        "recipient": {"id": "PSID1"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Your refund is on its way."},
    }
    # A read receipt carries only a watermark: it marks the reply sent before it.
    read = {"sender": {"id": "PSID1"}, "recipient": {"id": "PAGE"}, "read": {"watermark": 4102444800000}}
    body = json.dumps({"object": "page", "entry": [{"id": "PAGE", "messaging": [read]}]}).encode()
    client = await serve_adapter(adapter)
    resp = await client.post("/adapters/messenger", data=body, headers=meta_headers("sec", body))
    await client.close()
    await adapter.stop()
    assert resp.status == 200
    [status] = router_stub.made("POST", "/v1/messages/status")
    assert status.json() == {"external_id": "m_OUT", "status": "read", "detail": None}


async def test_messenger_auth_failure_is_permanent(provider: Recorder, router_client: RouterClient) -> None:
    provider.routes[("POST", "/v21.0/me/messages")] = answer(
        401, {"error": {"message": "Invalid OAuth access token.", "code": 190}}
    )
    adapter = MessengerAdapter(
        {"base_url": provider.url, "page_token": "bad", "app_secret": "s", "verify_token": "v"}, router_client
    )
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(reply("social", "messenger", "PSID1"))
    await adapter.stop()
    assert not caught.value.retryable and caught.value.status == 401


# ---------------------------------------------------------------- e-mail relay


def email_adapter(relay: SmtpRelay, router_client: RouterClient) -> EmailAdapter:
    return EmailAdapter(
        {
            "relay_host": "127.0.0.1",
            "relay_port": relay.port,
            "from_address": "support@shop.example",
            "from_name": "Shop Support",
            "smtp_port": 0,
        },
        router_client,
    )


async def test_email_reply_threads_through_the_relay(relay: SmtpRelay, router_client: RouterClient) -> None:
    adapter = email_adapter(relay, router_client)
    message = reply(
        "email",
        "email",
        "xxxxxxxx@xxx.org",
        subject="Test reply email",
        in_reply_to="<473FFE27.20003@xxx.org>",
        references=["<473FF3B8.9020707@xxx.org>", "wamid.NOT-MAIL", "<473FFE27.20003@xxx.org>"],
    )
    accepted = await adapter.send(message)
    [(mail_from, rcpt, raw)] = relay.received
    assert (mail_from, rcpt) == ("support@shop.example", ["xxxxxxxx@xxx.org"])
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["From"] == "Shop Support <support@shop.example>"
    assert mail["Subject"] == "Re: Test reply email"
    assert mail["In-Reply-To"] == "<473FFE27.20003@xxx.org>"
    assert mail["References"] == "<473FF3B8.9020707@xxx.org> <473FFE27.20003@xxx.org>"
    assert mail["Message-ID"] == accepted.external_id
    assert str(accepted.external_id).endswith("@shop.example>")
    assert mail.get_content().strip() == "Your refund is on its way."


async def test_email_reply_in_korean_survives_the_relay(
    relay: SmtpRelay, router_client: RouterClient
) -> None:
    adapter = email_adapter(relay, router_client)
    await adapter.send(
        reply("email", "email", "kim@example.kr", subject="Re: 요금 문의", body="확인했습니다. 똠방각하")
    )
    mail = message_from_bytes(relay.received[0][2], policy=policy.default)
    assert mail["Subject"] == "Re: 요금 문의"
    assert mail.get_content().strip() == "확인했습니다. 똠방각하"


@pytest.mark.parametrize(
    ("where", "reply_line", "retryable"),
    [
        ("rcpt", "450 4.2.1 mailbox busy", True),
        ("rcpt", "550 5.1.1 no such user", False),
        ("data", "451 4.3.0 try later", True),
        ("data", "554 5.7.1 rejected as spam", False),
    ],
)
async def test_email_relay_refusals_are_classified(
    relay: SmtpRelay, router_client: RouterClient, where: str, reply_line: str, retryable: bool
) -> None:
    setattr(relay, f"{where}_reply", reply_line)
    with pytest.raises(DeliveryError) as caught:
        await email_adapter(relay, router_client).send(reply("email", "email", "a@example.com"))
    assert caught.value.retryable is retryable


async def test_email_relay_down_is_retryable(router_client: RouterClient) -> None:
    adapter = EmailAdapter({"relay_port": closed_port(), "from_address": "s@x.example"}, router_client)
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(reply("email", "email", "a@example.com"))
    assert caught.value.retryable


# ---------------------------------------------------------------- channels without a text path


async def test_voice_has_no_text_replies(router_client: RouterClient) -> None:
    adapter = TwilioVoiceAdapter({"auth_token": "t"}, router_client)
    assert adapter.capabilities.voice and not adapter.capabilities.text
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(reply("voice", "phone", "+1555"))
    assert not caught.value.retryable


async def test_webchat_reply_to_a_visitor_without_a_window_is_retried(router_client: RouterClient) -> None:
    with pytest.raises(DeliveryError) as caught:
        await WebChatAdapter({}, router_client).send(reply("chat", "chat_visitor", "visitor-0001"))
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("chat_visitor", "visitor-1"),
        ("email", "not-an-address"),
        ("email", "a@b.example\r\nBcc: x@evil.example"),
    ],
)
async def test_email_reply_without_a_usable_address_fails_at_once(
    relay: SmtpRelay, router_client: RouterClient, kind: str, value: str
) -> None:
    with pytest.raises(DeliveryError) as caught:
        await email_adapter(relay, router_client).send(reply("email", kind, value))
    assert not caught.value.retryable
    assert relay.received == []


async def test_email_subject_with_line_breaks_is_one_line(
    relay: SmtpRelay, router_client: RouterClient
) -> None:
    await email_adapter(relay, router_client).send(
        reply("email", "email", "a@example.com", subject="Order\r\nBcc: x@evil.example")
    )
    mail = message_from_bytes(relay.received[0][2], policy=policy.default)
    assert mail["Subject"] == "Re: Order Bcc: x@evil.example" and mail["Bcc"] is None
