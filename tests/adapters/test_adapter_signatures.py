"""The signature vectors of the fixtures' README, and what must fail."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from adapters.kit.signatures import (
    meta_signature,
    meta_valid,
    twilio_signature,
    twilio_valid,
    url_port_variants,
)
from tests.support.providers import fixture_bytes, fixture_json

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
META_VECTOR = "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221"


def vector_params() -> list[tuple[str, str]]:
    raw = fixture_bytes("twilio_voice/signature_vector_gather_callback.txt").decode().strip()
    return parse_qsl(raw, keep_blank_values=True)


def test_twilio_vector_from_the_form_body() -> None:
    assert twilio_signature("12345", VECTOR_URL, vector_params()) == VECTOR_SIGNATURE


def test_twilio_vector_from_the_params_json_agrees() -> None:
    params = fixture_json("twilio_voice/signature_vector_gather_callback.params.json")
    assert sorted(params.items()) == sorted(vector_params())
    assert twilio_valid("12345", VECTOR_URL, params.items(), VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    "url",
    [VECTOR_URL, "https://mycompany.com:443/myapp.php?foo=1&bar=2"],
    ids=["without-port", "with-default-port"],
)
def test_twilio_valid_with_and_without_default_port(url: str) -> None:
    assert twilio_valid("12345", url, vector_params(), VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    ("url", "params", "token", "signature"),
    [
        (VECTOR_URL, [("Digits", "9999")], "12345", VECTOR_SIGNATURE),
        ("https://mycompany.com/myapp.php?foo=1&bar=3", None, "12345", VECTOR_SIGNATURE),
        ("https://mycompany.com:8443/myapp.php?foo=1&bar=2", None, "12345", VECTOR_SIGNATURE),
        (VECTOR_URL, None, "54321", VECTOR_SIGNATURE),
        (VECTOR_URL, None, "12345", ""),
        (VECTOR_URL, None, "12345", None),
    ],
    ids=["tampered-param", "tampered-url", "other-port", "wrong-token", "empty", "missing"],
)
def test_twilio_tampering_fails(
    url: str, params: list[tuple[str, str]] | None, token: str, signature: str | None
) -> None:
    base = dict(vector_params())
    if params:
        base.update(params)
    assert not twilio_valid(token, url, base.items(), signature)


def test_twilio_repeated_names_sort_their_values() -> None:
    one = twilio_signature("t", "https://x.test/", [("MediaUrl", "b"), ("MediaUrl", "a")])
    two = twilio_signature("t", "https://x.test/", [("MediaUrl", "a"), ("MediaUrl", "b")])
    assert one == two


def test_port_variants() -> None:
    assert url_port_variants("https://h.test/p?q=1") == ["https://h.test/p?q=1", "https://h.test:443/p?q=1"]
    assert url_port_variants("http://h.test:80/p") == ["http://h.test:80/p", "http://h.test/p"]
    assert url_port_variants("https://h.test:8443/p") == ["https://h.test:8443/p"]


def test_meta_vector() -> None:
    assert meta_signature("TEST_APP_SECRET", b"test") == META_VECTOR
    assert meta_valid("TEST_APP_SECRET", b"test", META_VECTOR)


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (b"test ", META_VECTOR),
        (b"test", META_VECTOR.replace("sha256=", "sha1=")),
        (b"test", META_VECTOR[:-1] + "0"),
        (b"test", ""),
        (b"test", None),
    ],
    ids=["tampered-body", "wrong-scheme", "tampered-digest", "empty", "missing"],
)
def test_meta_tampering_fails(body: bytes, header: str | None) -> None:
    assert not meta_valid("TEST_APP_SECRET", body, header)


def test_meta_signs_raw_bytes_not_reserialised_json() -> None:
    raw = fixture_bytes("whatsapp_cloud/text_message.json")
    header = meta_signature("s3cret", raw)
    reserialised = json.dumps(json.loads(raw)).encode()
    assert reserialised != raw
    assert meta_valid("s3cret", raw, header)
    assert not meta_valid("s3cret", reserialised, header)
