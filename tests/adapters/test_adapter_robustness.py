"""Mutated recorded payloads (seeded, so every run is the same) never crash the parsers: a message is
either parsed, refused with a clear ValueError, or skipped as odd."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.email.bounces import bounce_of
from adapters.email.mime import parse_mail, read_mail
from adapters.meta.messenger_payload import parse_batch
from adapters.meta.whatsapp_payload import parse_notification
from tests.support.providers import fixture_bytes, fixture_json

MAILS = [
    "email/reply_in_reply_to_references.eml",
    "email/multipart_alternative_gmail_reply.eml",
    "email/multipart_mixed_gif_attachment.eml",
]
INSERTS = [
    b"\r\n",
    b"=?",
    b"?=",
    b"--",
    b"boundary=",
    b"Content-Type: multipart/report; report-type=delivery-status\r\n",
    b"charset=ks_c_5601-1987",
    b"=?x-unknown?B?AAAA?=",
    b"\xff\xfe",
    "요금".encode(),
    "요금".encode("cp949"),
    b"\x00",
]
ODD_VALUES: list[Any] = [None, 1, "x", [], {}, [1], {"a": 1}, True, -5, "", [None]]


def mutated_mail(rng: random.Random) -> bytes:
    data = bytearray(fixture_bytes(rng.choice(MAILS)))
    for _ in range(rng.randint(1, 20)):
        pos = rng.randrange(len(data))
        roll = rng.random()
        if roll < 0.4:
            data[pos] = rng.randrange(256)
        elif roll < 0.7:
            del data[pos : pos + rng.randint(1, 50)]
        else:
            data[pos:pos] = rng.choice(INSERTS)
    return bytes(data)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_mail_is_parsed_or_refused(seed: int) -> None:
    rng = random.Random(seed)
    parsed = refused = 0
    for _ in range(250):
        raw = mutated_mail(rng)
        bounce_of(read_mail(raw))
        try:
            parse_mail(raw)
            parsed += 1
        except ValueError as exc:
            assert "no sender address" in str(exc)
            refused += 1
    assert parsed > 50 and refused > 0


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def mutated_json(rng: random.Random, original: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(original)
    paths = list(_paths(data))[1:]
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(paths)
        parent: Any = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict) and rng.random() < 0.3:
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
        except (KeyError, IndexError, TypeError):
            continue
    return data


def envelope(relative: str) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": "P", "time": 1, "messaging": [fixture_json(relative)]}]}


@pytest.mark.parametrize("seed", range(4))
def test_mutated_meta_notifications_never_crash(seed: int) -> None:
    rng = random.Random(seed)
    whatsapp = [
        fixture_json("whatsapp_cloud/text_message.json"),
        fixture_json("whatsapp_cloud/status_sent.json"),
    ]
    messenger = [
        envelope("messenger/messages_text_event.json"),
        envelope("messenger/message_deliveries_event.json"),
    ]
    outcomes = 0
    for _ in range(500):
        notification = parse_notification(mutated_json(rng, rng.choice(whatsapp)), graph_url="g")
        batch = parse_batch(mutated_json(rng, rng.choice(messenger)))
        outcomes += len(notification.events) + len(notification.statuses) + len(notification.skipped)
        outcomes += len(batch.events) + len(batch.receipts) + len(batch.skipped)
        json.dumps([e.model_dump(mode="json") for e in notification.events + batch.events])
    assert outcomes > 500
