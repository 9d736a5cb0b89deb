"""Long replies are split into the parts a provider takes, and never delivered twice."""

from __future__ import annotations

import pytest
from aiohttp import web

from adapters.kit.text import MESSENGER_LIMIT, send_parts, split_text
from adapters.meta.messenger import MessengerAdapter
from router.contracts import OutboundMessage
from router.sdk.adapter import DeliveryError
from router.sdk.client import RouterClient
from tests.support.recorders import Recorder


def test_short_text_is_one_part() -> None:
    assert split_text("hello", 10) == ["hello"]
    assert split_text("", 10) == [""]


def test_cuts_at_line_breaks_then_spaces_then_anywhere() -> None:
    assert split_text("first line\nsecond line", 15) == ["first line", "second line"]
    assert split_text("alpha beta gamma delta", 12) == ["alpha beta", "gamma delta"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


@pytest.mark.parametrize("limit", [12, 50, 2000])  # longer than any word of the text
def test_parts_respect_the_limit_and_lose_no_words(limit: int) -> None:
    text = " ".join(f"word{i}" for i in range(1500)) + "\n\nPS: 한국어 문장도 나눕니다. " * 20
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert " ".join(parts).split() == text.split()


async def test_a_failure_after_the_first_part_is_permanent() -> None:
    sent: list[str] = []

    async def one(part: str) -> str:
        if len(sent) == 1:
            raise DeliveryError("provider down", retryable=True, status=503)
        sent.append(part)
        return f"id-{part}"

    with pytest.raises(DeliveryError) as caught:
        await send_parts(["a", "b", "c"], one)
    assert not caught.value.retryable and caught.value.detail == "sent 1 of 3 parts, then: provider down"
    with pytest.raises(DeliveryError) as first:
        await send_parts(["b"], one)
    assert first.value.retryable


async def test_long_messenger_reply_goes_out_in_parts(
    provider: Recorder, router_client: RouterClient
) -> None:
    count = 0

    async def respond(request: web.Request, raw: bytes) -> web.Response:
        nonlocal count
        count += 1
        return web.json_response({"recipient_id": "P", "message_id": f"m_{count}"})

    provider.routes[("POST", "/v21.0/me/messages")] = respond
    adapter = MessengerAdapter(
        {"base_url": provider.url, "page_token": "t", "app_secret": "s", "verify_token": "v"}, router_client
    )
    body = ("All the details of your refund. " * 140).strip()
    accepted = await adapter.send(
        OutboundMessage.model_validate(
            {
                "message_id": "m",
                "interaction_id": "i",
                "conversation_id": "c",
                "customer_id": "cu",
                "channel": "social",
                "to": {"kind": "messenger", "value": "P"},
                "body": body,
            }
        )
    )
    await adapter.stop()
    texts = [r.json()["message"]["text"] for r in provider.requests]
    assert len(texts) == 3 and all(len(t) <= MESSENGER_LIMIT for t in texts)
    assert " ".join(texts) == body
    assert accepted.external_id == "m_1"
