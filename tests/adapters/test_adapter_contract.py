"""Every adapter is found by its entry point, fits the ChannelAdapter protocol, declares what its
channel can do, and reads its settings and secrets as documented."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from adapters.email.adapter import EmailAdapter
from adapters.kit.settings import AdapterConfigError, Settings
from adapters.meta.messenger import MessengerAdapter
from adapters.meta.whatsapp import WhatsAppAdapter
from adapters.twilio.sms import TwilioSmsAdapter
from adapters.twilio.voice import TwilioVoiceAdapter
from adapters.webchat.adapter import WebChatAdapter
from router.contracts import Channel
from router.sdk.adapter import ChannelAdapter
from router.sdk.client import RouterClient
from router.sdk.host import available
from tests.support.providers import fixture_bytes, meta_headers
from tests.support.recorders import RouterStub, serve_adapter

MINIMAL: dict[type[Any], dict[str, Any]] = {
    TwilioVoiceAdapter: {"auth_token": "t"},
    TwilioSmsAdapter: {"auth_token": "t", "from_number": "+1555"},
    WhatsAppAdapter: {"app_secret": "s", "verify_token": "v", "access_token": "a"},
    MessengerAdapter: {"app_secret": "s", "verify_token": "v", "page_token": "p"},
    EmailAdapter: {"from_address": "support@example.com"},
    WebChatAdapter: {},
}
CHANNELS = {
    "twilio_voice": Channel.voice,
    "twilio_sms": Channel.sms,
    "whatsapp": Channel.social,
    "messenger": Channel.social,
    "email": Channel.email,
    "webchat": Channel.chat,
}


def test_entry_points_name_every_adapter() -> None:
    found = {name: ep.load() for name, ep in available().items()}
    assert set(CHANNELS) <= set(found)
    for cls in MINIMAL:
        assert found[cls.name] is cls
        assert cls.channel == CHANNELS[cls.name]


@pytest.mark.parametrize("cls", list(MINIMAL), ids=lambda c: c.name)
async def test_adapters_fit_the_protocol(cls: type[Any], router_client: RouterClient) -> None:
    adapter = cls(MINIMAL[cls], router_client)
    assert isinstance(adapter, ChannelAdapter)
    routes = adapter.routes()
    assert all(isinstance(r, web.RouteDef) and r.path.startswith("/") for r in routes)
    assert adapter.capabilities.text != adapter.capabilities.voice


def test_capabilities_tell_what_each_channel_cannot_do() -> None:
    assert TwilioVoiceAdapter.capabilities.voice and not TwilioVoiceAdapter.capabilities.text
    assert EmailAdapter.capabilities.subject and not EmailAdapter.capabilities.delivery_receipts
    assert WhatsAppAdapter.capabilities.read_receipts and WhatsAppAdapter.capabilities.media
    assert not WebChatAdapter.capabilities.media and not WebChatAdapter.capabilities.typing


@pytest.mark.parametrize(
    ("cls", "missing", "variable"),
    [
        (TwilioVoiceAdapter, "auth_token", "TWILIO_AUTH_TOKEN"),
        (WhatsAppAdapter, "app_secret", "WHATSAPP_APP_SECRET"),
        (WhatsAppAdapter, "access_token", "WHATSAPP_ACCESS_TOKEN"),
        (MessengerAdapter, "page_token", "MESSENGER_PAGE_TOKEN"),
        (MessengerAdapter, "verify_token", "MESSENGER_VERIFY_TOKEN"),
    ],
)
def test_missing_secret_names_its_variable(
    cls: type[Any], missing: str, variable: str, router_client: RouterClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(variable, raising=False)
    config = {k: v for k, v in MINIMAL[cls].items() if k != missing}
    with pytest.raises(AdapterConfigError, match=variable):
        cls(config, router_client)
    monkeypatch.setenv(variable, "from-the-environment")
    cls(config, router_client)


def test_secrets_from_a_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TWILIO_SECRET", "named")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "default")
    assert (
        Settings("x", {"auth_token_env": "MY_TWILIO_SECRET"}).secret("auth_token", "TWILIO_AUTH_TOKEN")
        == "named"
    )
    assert Settings("x", {}).secret("auth_token", "TWILIO_AUTH_TOKEN") == "default"
    assert Settings("x", {"auth_token": "direct"}).secret("auth_token", "TWILIO_AUTH_TOKEN") == "direct"


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"smtp_port": "2525"}, "smtp_port must be an integer"),
        ({"poll_seconds": True}, "poll_seconds must be a number"),
        ({"ask_account": "yes"}, "ask_account must be true or false"),
        ({"menu": ["billing"]}, "menu must be a table"),
    ],
)
def test_wrong_types_are_reported(config: dict[str, Any], error: str) -> None:
    settings = Settings("x", config)
    with pytest.raises(AdapterConfigError, match=error):
        settings.integer("smtp_port", 1)
        settings.number("poll_seconds", 1)
        settings.flag("ask_account", True)
        settings.table("menu", {})


def test_sms_needs_a_sender(router_client: RouterClient) -> None:
    with pytest.raises(AdapterConfigError, match="from_number or messaging_service_sid"):
        TwilioSmsAdapter({"auth_token": "t"}, router_client)


def test_email_needs_a_from_address(router_client: RouterClient) -> None:
    with pytest.raises(AdapterConfigError, match="from_address is required"):
        EmailAdapter({}, router_client)


async def test_configured_queue_applies_when_the_event_names_none(
    router_client: RouterClient, router_stub: RouterStub
) -> None:
    adapter = WhatsAppAdapter({**MINIMAL[WhatsAppAdapter], "queue": "vip_social"}, router_client)
    client = await serve_adapter(adapter)
    body = fixture_bytes("whatsapp_cloud/text_message.json")
    resp = await client.post("/adapters/whatsapp", data=body, headers=meta_headers("s", body))
    await client.close()
    await adapter.stop()
    assert resp.status == 200
    assert [e["queue"] for e in router_stub.ingested()] == ["vip_social"]
