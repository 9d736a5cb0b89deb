"""The input rules of ``router.contracts.text``: what is stripped, what is refused and where, what JSON
is accepted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from router.contracts import (
    MAX_JSON_DEPTH,
    BodyError,
    InboundEvent,
    MessageIn,
    parse_json,
    strip_unstorable,
    unstorable_path,
    validation_errors,
)

KEPT = "👋🏽 👩‍👩‍👧 שלום e\u0301 漢字 \U0001f600 tab\tnewline\n"


def test_strip_keeps_everything_postgres_can_hold() -> None:
    assert strip_unstorable(f"\x00{KEPT}\ud800\udfff\x00") == KEPT
    # a surrogate pair decoded from JSON is one character and is kept
    assert strip_unstorable(json.loads('"\\ud83d\\ude00"')) == "\U0001f600"


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("fine", None),
        ("a\x00", []),
        ({"a": "ok", "b": ["x", {"c": "\ud800"}]}, ["b", 1, "c"]),
        ({"k\x00": 1}, ["k\x00"]),
        ([1, 2.5, None, True, "\udc00"], [4]),
        ({"n": 1, "t": [True]}, None),
    ],
)
def test_unstorable_path_points_at_the_value(value: Any, path: list[Any] | None) -> None:
    assert unstorable_path(value) == path


def test_customer_text_is_stripped_every_other_string_refused_with_its_path() -> None:
    ev = InboundEvent.model_validate(
        {
            "channel": "chat",
            "external_id": "e1",
            "from": {"kind": "chat_visitor", "value": "v"},
            "content": "hi\x00 " + KEPT + "\ud800",
            "subject": "s\x00",
            "customer": {"name": "Zo\x00ë"},
        }
    )
    assert ev.content == "hi " + KEPT and ev.subject == "s" and ev.customer and ev.customer.name == "Zoë"
    assert MessageIn(body="a\x00b").body == "ab"
    with pytest.raises(ValidationError) as caught:
        InboundEvent.model_validate(
            {
                "channel": "chat",
                "external_id": "e1",
                "from": {"kind": "chat_visitor", "value": "v"},
                "attributes": {"tags": ["a", {"b": "\x00"}]},
            }
        )
    assert [e["loc"] for e in validation_errors(caught.value)] == [["attributes", "tags", 1, "b"]]


def test_parse_json_refuses_what_json_does_not_allow() -> None:
    deep: Any = 0
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    assert parse_json(json.dumps(deep)) == deep
    for raw in (b"[NaN]", b'{"a": Infinity}', b"[-Infinity]", b"{", json.dumps([deep]).encode()):
        with pytest.raises(BodyError) as caught:
            parse_json(raw)
        assert caught.value.decodable
    with pytest.raises(BodyError) as caught:
        parse_json(b"[" * 200_000 + b"]" * 200_000)
    assert caught.value.decodable
    with pytest.raises(BodyError) as caught:
        parse_json(b'"\xff"')
    assert not caught.value.decodable
    assert parse_json(b"") is None
