"""Delivery status notifications (RFC 3464 bounces) → receipts on the agent's original message.

A relay that accepted a reply may still fail to deliver it and mail back a ``multipart/report;
report-type=delivery-status`` message. Its ``message/delivery-status`` part says what happened
(``Action: failed`` / ``delivered`` / ``delayed``, ``Status``, ``Diagnostic-Code``), and its
``message/rfc822`` or ``text/rfc822-headers`` part carries the original headers, whose
``Message-ID`` is the external id of the agent's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import HeaderParser

from adapters.email.mime import message_ids
from router.contracts import MessageStatusIn

_RECEIPT = {"failed": "failed", "delivered": "delivered", "relayed": "delivered", "expanded": "delivered"}


@dataclass
class Bounce:
    original_id: str | None
    action: str
    detail: str | None

    def receipt(self) -> MessageStatusIn | None:
        status = _RECEIPT.get(self.action)
        if status is None or self.original_id is None:
            return None
        return MessageStatusIn(external_id=self.original_id, status=status, detail=self.detail)


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    return [HeaderParser().parsestr(chunk) for chunk in str(payload).split("\n\n") if chunk.strip()]


def _original_headers(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str):
        return HeaderParser().parsestr(payload)
    return None


def bounce_of(message: EmailMessage) -> Bounce | None:
    """The delivery report in ``message``, or ``None`` if it is not one."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    action, detail, original = "", None, None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(part):
                if block.get("Action"):
                    action = str(block["Action"]).strip().lower()
                    code = block.get("Diagnostic-Code") or block.get("Status")
                    detail = " ".join(str(code).split())[:300] if code else None
                    break
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _original_headers(part)
    found = message_ids(str(original.get("Message-ID", ""))) if original is not None else []
    return Bounce(found[0] if found else None, action, detail)
