"""Bounces of the agents' e-mail replies become receipts on the original message, not customers."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator

import pytest

from adapters.email.adapter import EmailAdapter
from adapters.email.bounces import bounce_of
from adapters.email.mime import parse_mail, read_mail
from router.contracts import MessageStatusIn
from router.sdk.client import RouterClient
from tests.support.providers import delivery_report, fixture_bytes
from tests.support.recorders import RouterStub


@pytest.mark.parametrize("headers_only", [False, True], ids=["message-rfc822", "text-rfc822-headers"])
def test_failed_delivery_report_names_the_original(headers_only: bool) -> None:
    bounce = bounce_of(read_mail(delivery_report("<reply-1@shop.example>", headers_only=headers_only)))
    assert bounce is not None
    assert bounce.receipt() == MessageStatusIn(
        external_id="<reply-1@shop.example>",
        status="failed",
        detail="smtp; 550 5.1.1 <gone@customer.example>: Recipient address rejected: User unknown",
    )


def test_delivered_and_delayed_reports() -> None:
    delivered = bounce_of(read_mail(delivery_report("<r@x>", action="delivered")))
    assert delivered is not None and delivered.receipt() is not None
    assert delivered.receipt().status == "delivered"  # type: ignore[union-attr]
    delayed = bounce_of(read_mail(delivery_report("<r@x>", action="delayed")))
    assert delayed is not None and delayed.receipt() is None


@pytest.mark.parametrize(
    "relative",
    ["email/reply_in_reply_to_references.eml", "email/multipart_mixed_gif_attachment.eml"],
)
def test_ordinary_mail_is_not_a_report(relative: str) -> None:
    assert bounce_of(read_mail(fixture_bytes(relative))) is None


def test_automatic_replies_are_marked() -> None:
    raw = (
        b"From: a@customer.example\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway.\r\n"
    )
    assert parse_mail(raw).attributes["auto_submitted"] == "auto-replied"
    plain = parse_mail(b"From: a@customer.example\r\nAuto-Submitted: no\r\n\r\nHi\r\n")
    assert "auto_submitted" not in plain.attributes


@pytest.fixture
async def inbox(router_client: RouterClient) -> AsyncIterator[EmailAdapter]:
    adapter = EmailAdapter({"smtp_port": 0, "from_address": "support@shop.example"}, router_client)
    await adapter.start()
    yield adapter
    await adapter.stop()


def deliver(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("", ["support@shop.example"], raw)


async def test_a_bounce_over_smtp_records_failure_and_opens_nothing(
    inbox: EmailAdapter, router_stub: RouterStub
) -> None:
    assert inbox.listening_port
    await asyncio.to_thread(deliver, inbox.listening_port, delivery_report("<reply-1@shop.example>"))
    assert router_stub.ingested() == []
    [status] = router_stub.made("POST", "/v1/messages/status")
    assert status.json()["external_id"] == "<reply-1@shop.example>"
    assert status.json()["status"] == "failed"
