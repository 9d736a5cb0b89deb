"""The SMTP listener: real SMTP sessions in, inbound events to the router, SMTP replies that make
the sending server keep or drop the mail."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator

import pytest

from adapters.email.adapter import EmailAdapter
from router.sdk.client import RouterClient
from tests.support.providers import KOREAN_BODY, KOREAN_SUBJECT, fixture_bytes, korean_mail
from tests.support.recorders import RouterStub


@pytest.fixture
async def inbox(router_client: RouterClient) -> AsyncIterator[EmailAdapter]:
    adapter = EmailAdapter({"smtp_port": 0, "from_address": "support@shop.example"}, router_client)
    await adapter.start()
    yield adapter
    await adapter.stop()


def deliver(port: int, raw: bytes, sender: str = "customer@example.org") -> dict[str, tuple[int, bytes]]:
    """One SMTP transaction, with line ends on the wire as SMTP requires (CRLF)."""
    wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail(sender, ["support@shop.example"], wire)


async def test_a_thunderbird_reply_arrives_over_smtp(inbox: EmailAdapter, router_stub: RouterStub) -> None:
    assert inbox.listening_port
    raw = fixture_bytes("email/reply_in_reply_to_references.eml")
    refused = await asyncio.to_thread(deliver, inbox.listening_port, raw)
    assert refused == {}
    [event] = router_stub.ingested()
    assert event["channel"] == "email"
    assert event["external_id"] == "<473FFE27.20003@xxx.org>"
    assert event["thread_refs"] == ["<348F04F142D69C21-291E56D292BC@xxxx.net>", "<473FF3B8.9020707@xxx.org>"]
    assert event["attributes"]["mailbox"] == "support@shop.example"


async def test_korean_mail_over_smtp(inbox: EmailAdapter, router_stub: RouterStub) -> None:
    assert inbox.listening_port
    await asyncio.to_thread(deliver, inbox.listening_port, korean_mail())
    [event] = router_stub.ingested()
    assert event["subject"] == KOREAN_SUBJECT
    assert event["content"].strip() == KOREAN_BODY


async def test_router_down_makes_the_sender_retry(inbox: EmailAdapter, router_stub: RouterStub) -> None:
    assert inbox.listening_port
    router_stub.fail_with = 503
    raw = fixture_bytes("email/multipart_mixed_gif_attachment.eml")
    with pytest.raises(smtplib.SMTPDataError) as caught:
        await asyncio.to_thread(deliver, inbox.listening_port, raw)
    assert caught.value.smtp_code == 451


async def test_mail_the_router_refuses_bounces(inbox: EmailAdapter, router_stub: RouterStub) -> None:
    assert inbox.listening_port
    router_stub.fail_with = 422
    raw = fixture_bytes("email/multipart_mixed_gif_attachment.eml")
    with pytest.raises(smtplib.SMTPDataError) as caught:
        await asyncio.to_thread(deliver, inbox.listening_port, raw)
    assert caught.value.smtp_code == 550


async def test_mail_without_a_sender_bounces_and_posts_nothing(
    inbox: EmailAdapter, router_stub: RouterStub
) -> None:
    assert inbox.listening_port
    with pytest.raises(smtplib.SMTPDataError) as caught:
        await asyncio.to_thread(deliver, inbox.listening_port, b"Subject: hi\r\n\r\nno from header\r\n")
    assert caught.value.smtp_code == 550
    assert router_stub.requests == []


async def test_stop_closes_the_listener(router_client: RouterClient) -> None:
    adapter = EmailAdapter({"smtp_port": 0, "from_address": "s@x.example"}, router_client)
    await adapter.start()
    port = adapter.listening_port
    assert port
    await adapter.stop()
    with pytest.raises(OSError):
        await asyncio.to_thread(deliver, port, b"From: a@b.example\r\n\r\nx\r\n")
