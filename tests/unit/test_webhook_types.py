"""The webhook types: one table (``WEBHOOK_TYPES``), the list in docs/webhooks.md equal to it, every event
kind the engine emits (Lua scripts and Python) either sent to webhooks or named as the router's own, and
the pieces of a delivery (pattern matching, signature, backoff)."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest

from router.contracts.webhooks import INTERNAL_KINDS, WEBHOOK_TYPES, matches
from router.service.webhooks import backoff, event_body, order_key, signature

ROOT = Path(__file__).resolve().parents[2]


def emitted_kinds() -> set[str]:
    kinds = set()
    for path in (ROOT / "router" / "routing" / "lua").glob("*.lua"):
        kinds |= set(re.findall(r"\bemit(?:_json)?\(\s*'([a-z_]+)'", path.read_text(encoding="utf-8")))
    for path in (ROOT / "router").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        kinds |= set(re.findall(r"\bpublish\(\s*[\w.\[\]]+,\s*\"([a-z_]+)\"", text))
        # helpers that publish the kind they are given (``_announce(pool, engine, "customer_merged", …)``)
        kinds |= set(re.findall(r"\b_?announce\w*\([^()]*?\"([a-z_]+)\"", text))
    return kinds


def test_every_event_kind_is_sent_or_named_internal() -> None:
    kinds = emitted_kinds()
    assert {"enqueued", "offer", "message", "token_revoked", "grace_expired", "customer_merged"} <= kinds
    assert kinds - set(WEBHOOK_TYPES) - INTERNAL_KINDS == set(), "a new event kind: give it a webhook type"
    assert not set(WEBHOOK_TYPES) & INTERNAL_KINDS
    assert len(set(WEBHOOK_TYPES.values())) == len(WEBHOOK_TYPES)


def test_the_docs_list_every_type() -> None:
    text = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| `([a-z_]+)` \|", text, re.MULTILINE))
    assert documented == {v: k for k, v in WEBHOOK_TYPES.items()}


@pytest.mark.parametrize(
    ("patterns", "webhook_type", "expected"),
    [
        (["*"], "offer.made", True),
        (["interaction.*"], "interaction.queued", True),
        (["interaction.*"], "offer.made", False),
        (["offer.made"], "offer.made", True),
        (["offer.made"], "offer.revoked", False),
        (["survey.*", "agent.state"], "agent.state", True),
        (["inter*"], "interaction.queued", False),
    ],
)
def test_patterns(patterns: list[str], webhook_type: str, expected: bool) -> None:
    assert matches(patterns, webhook_type) is expected


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = event_body("1700000000123-4", "offer.made", {"interaction_id": "i1", "text": "ça ☃ \U0001f600"})
    assert body.isascii() and '"at":"2023-11-14T22:13:20.123000Z"' in body
    expected = hmac.new(b"k" * 20, b"1700000000." + body.encode(), hashlib.sha256).hexdigest()
    assert signature("k" * 20, "1700000000", body.encode()) == "sha256=" + expected


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    for attempts in range(1, 12):
        full = min(600.0, 5 * 2 ** (attempts - 1))
        for _ in range(50):
            assert full / 2 <= backoff(attempts, 5, 600) <= full
    assert backoff(10_000, 5, 600) <= 600


def test_order_keys() -> None:
    assert order_key({"interaction_id": "i", "agent_id": "a"}) == "interaction:i"
    assert order_key({"agent_id": "a"}) == "agent:a"
    assert order_key({"customer_id": "c", "channel": "sms"}) == "customer:c"
    assert order_key({}) == ""
