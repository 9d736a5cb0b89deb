"""Identity keys: the telephone numbers of issue 10's table (each an E.164 key or a refusal), withheld
caller ids, and the regions that read national numbers (deployment default, adapter override)."""

from __future__ import annotations

import pytest

from adapters.kit.settings import AdapterConfigError, Settings
from adapters.twilio.account import caller_identity
from router.config import ConfigError, parse_config
from router.contracts import (
    ANONYMOUS_KIND,
    InboundEvent,
    NotAnIdentity,
    WithheldIdentity,
    is_withheld,
    normalize_identity,
)


@pytest.mark.parametrize(
    ("kind", "value", "region", "expected"),
    [
        ("phone", "(415) 555-0123", "US", "+14155550123"),
        ("phone", "415.555.0123", "US", "+14155550123"),
        ("phone", "1 415 555 0123", "US", "+14155550123"),
        ("phone", "011 44 7700 900123", "US", "+447700900123"),
        ("phone", "0044 7700 900123", "US", "+447700900123"),
        ("phone", "0044 7700 900123", "GB", "+447700900123"),
        ("phone", "0044 7700 900123", None, "+447700900123"),
        ("phone", "07700 900123", "GB", "+447700900123"),
        ("phone", "tel:+1-415-555-0123;ext=22", "US", "+14155550123"),
        ("phone", "+1 415 555 0123 ext. 22", "US", "+14155550123"),
        ("phone", "+1 (415) 555-0123", None, "+14155550123"),
        ("voice", "sip:+14155550123@pbx.example.com", "GB", "+14155550123"),
        ("sms", "whatsapp:+14155550123", "GB", "+14155550123"),
        # a WhatsApp wa_id: the international number in digits only, whatever the region
        ("whatsapp", "14155550123", "GB", "+14155550123"),
        ("whatsapp", "447700900123", "US", "+447700900123"),
        ("whatsapp", "16505551234", None, "+16505551234"),
        ("whatsapp", "+447700900123", "US", "+447700900123"),
    ],
)
def test_numbers_become_e164(kind: str, value: str, region: str | None, expected: str) -> None:
    assert normalize_identity(kind, value, region) == ("phone", expected)


@pytest.mark.parametrize(
    ("kind", "value", "region"),
    [
        ("phone", "07700 900123", "US"),  # a British national number read as American
        ("phone", "1", "US"),
        ("phone", "+1", None),
        ("phone", "(415) 555-0123", None),  # national, and no region to read it in
        ("phone", "123", "US"),
        ("phone", "+44 7700 900123 999 999", None),  # too long for the country
        ("whatsapp", "1", "US"),
        ("whatsapp", "12", None),
        ("phone", "call me maybe", "US"),
    ],
)
def test_impossible_numbers_are_not_identities(kind: str, value: str, region: str | None) -> None:
    with pytest.raises(NotAnIdentity) as info:
        normalize_identity(kind, value, region)
    assert not isinstance(info.value, WithheldIdentity)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("phone", "+266696687"),
        ("phone", "+86282452253"),
        ("phone", "+7378742833"),
        ("phone", "+2562533"),
        ("voice", "266696687"),
        ("whatsapp", "86282452253"),
        ("phone", "Anonymous"),
        ("phone", "RESTRICTED"),
        ("phone", "unknown"),
        ("phone", "Private"),
        ("phone", "unavailable"),
        ("phone", "tel:anonymous"),
        ("phone", "sip:anonymous@anonymous.invalid"),
        ("phone", " "),
        (ANONYMOUS_KIND, "Anonymous"),
        (ANONYMOUS_KIND, "+14155550123"),
    ],
)
def test_withheld_caller_ids_are_no_identity(kind: str, value: str) -> None:
    assert is_withheld(kind, value)
    with pytest.raises(WithheldIdentity):
        normalize_identity(kind, value, "US")


def test_other_kinds_keep_their_value_and_email_is_case_insensitive() -> None:
    assert normalize_identity("email", "  Mia@Example.COM ", "US") == ("email", "mia@example.com")
    assert normalize_identity("chat_visitor", "v-123", "US") == ("chat_visitor", "v-123")
    assert not is_withheld("phone", "+14155550123")
    for bad in ("no-at-sign", "@example.com", "mia@"):
        with pytest.raises(NotAnIdentity):
            normalize_identity("email", bad)


@pytest.mark.parametrize(
    ("raw", "region", "kind", "value"),
    [
        ("+14155550123", None, "phone", "+14155550123"),
        ("4155550123", "US", "phone", "+14155550123"),
        ("07700900123", "GB", "phone", "+447700900123"),
        ("+266696687", None, ANONYMOUS_KIND, "+266696687"),
        ("+7378742833", "US", ANONYMOUS_KIND, "+7378742833"),
        ("Anonymous", None, ANONYMOUS_KIND, "Anonymous"),
        ("", None, ANONYMOUS_KIND, "unknown"),
        ("client:alice", None, "twilio_client", "alice"),
        ("1", "US", "phone", "1"),  # passed on as given: the router refuses it as a key
    ],
)
def test_twilio_caller_identity(raw: str, region: str | None, kind: str, value: str) -> None:
    identity = caller_identity(raw, region)
    assert (identity.kind, identity.value) == (kind, value)


def test_the_deployment_default_region_is_configured_and_checked() -> None:
    assert parse_config("").identity.default_region == "US"
    assert parse_config('[identity]\ndefault_region = "gb"\n').identity.default_region == "GB"
    for bad in ('"XX"', '"USA"', "1"):
        with pytest.raises(ConfigError, match=r"identity\.default_region"):
            parse_config(f"[identity]\ndefault_region = {bad}\n")
    with pytest.raises(ConfigError, match="identity"):
        parse_config('[identity]\nregion = "US"\n')


def test_an_adapter_may_read_numbers_in_its_own_region() -> None:
    assert Settings("twilio_voice", {}).default_region() is None
    assert Settings("twilio_voice", {"default_region": "gb"}).default_region() == "GB"
    with pytest.raises(AdapterConfigError, match=r"adapters\.webchat\.default_region"):
        Settings("webchat", {"default_region": "ZZ"}).default_region()
    event = {"channel": "chat", "external_id": "x", "from": {"kind": "chat_visitor", "value": "v"}}
    assert InboundEvent.model_validate({**event, "region": "gb"}).region == "GB"
    for bad in ("USA", "ZZ", "1"):
        with pytest.raises(ValueError, match="region"):
            InboundEvent.model_validate({**event, "region": bad})
