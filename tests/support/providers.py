"""The providers' side: recorded payloads (kept in the repository at ``tests/fixtures/providers``),
signed webhook requests, and sample e-mails (a Korean legacy-charset mail, a delivery report)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp

from adapters.kit.signatures import meta_signature, twilio_signature

PROVIDERS = Path(__file__).resolve().parents[1] / "fixtures" / "providers"


def providers_dir() -> Path:
    """The recorded provider payloads, kept in the repository at ``tests/fixtures/providers``."""
    return PROVIDERS


def fixture_bytes(relative: str) -> bytes:
    return (providers_dir() / relative).read_bytes()


def fixture_json(relative: str) -> Any:
    return json.loads(fixture_bytes(relative))


def twilio_headers(token: str, url: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(token, url, params.items())}


def meta_headers(secret: str, body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": meta_signature(secret, body), "Content-Type": "application/json"}


TWILIO_TOKEN = "e2e-twilio-token"
META_SECRET = "e2e-meta-secret"


async def post_twilio(base_url: str, path: str, params: dict[str, str]) -> tuple[int, str]:
    """POST a form as Twilio would, signed over the URL it requests."""
    url = base_url + path
    headers = {"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, params.items())}
    async with aiohttp.ClientSession() as session, session.post(url, data=params, headers=headers) as resp:
        return resp.status, await resp.text()


async def post_meta(base_url: str, path: str, body: bytes) -> int:
    headers = {"X-Hub-Signature-256": meta_signature(META_SECRET, body), "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(base_url + path, data=body, headers=headers) as resp,
    ):
        return resp.status


# "똠" is in code page 949 but not in EUC-KR's 2,350 precomposed syllables.
KOREAN_SUBJECT = "똠방각하 요금 문의"
KOREAN_NAME = "김철수"
KOREAN_BODY = "안녕하세요. 똠얌꿍 주문 건으로 문의드립니다."


def encoded_word(text: str, charset: str = "ks_c_5601-1987", codec: str = "cp949") -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def korean_mail() -> bytes:
    body = base64.b64encode(KOREAN_BODY.encode("cp949")).decode()
    return (
        f"From: {encoded_word(KOREAN_NAME)} <Kim@Example.KR>\r\n"
        "To: support@example.com\r\n"
        f"Subject: {encoded_word(KOREAN_SUBJECT)}\r\n"
        "Message-ID: <kr-1@example.kr>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="ks_c_5601-1987"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{body}\r\n"
    ).encode("ascii")


def delivery_report(original_id: str, *, action: str = "failed", headers_only: bool = False) -> bytes:
    """A bounce as an MTA writes it (RFC 3464 ``multipart/report``) for the message ``original_id``."""
    original_kind = "text/rfc822-headers" if headers_only else "message/rfc822"
    original = (
        "From: Shop Support <support@shop.example>\r\n"
        "To: gone@customer.example\r\n"
        "Subject: Re: Order 1234\r\n"
        f"Message-ID: {original_id}\r\n"
    )
    if not headers_only:
        original += "\r\nIt ships today.\r\n"
    return (
        "From: MAILER-DAEMON@relay.example (Mail Delivery System)\r\n"
        "To: support@shop.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@relay.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        "--R\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@customer.example\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <gone@customer.example>:\r\n"
        "    Recipient address rejected: User unknown\r\n\r\n"
        f"--R\r\nContent-Type: {original_kind}\r\n\r\n{original}"
        "--R--\r\n"
    ).encode()
