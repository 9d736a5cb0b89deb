"""Messenger Platform webhook events → inbound events and receipts.

The envelope is ``{"object": "page", "entry": [{"id": page, "messaging": [event]}]}``; an
event has ``sender.id`` (the person's page-scoped id, PSID) and one of ``message``,
``postback``, ``delivery`` or ``read``. Echoes of the page's own messages are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from adapters.kit.payloads import MALFORMED, dicts, obj, skipped
from router.contracts import Attachment, Channel, InboundEvent, MessageStatusIn


@dataclass
class Receipt:
    """A delivery or read receipt: per message (``mids``) and/or up to a ``watermark`` (ms)."""

    psid: str
    status: str
    mids: list[str]
    watermark: int | None


@dataclass
class Batch:
    events: list[InboundEvent] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _events(payload: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in dicts(payload.get("entry")):
        for event in dicts(entry.get("messaging")):
            yield str(entry.get("id", "")), event


def parse_batch(payload: dict[str, Any]) -> Batch:
    batch = Batch()
    for page_id, event in _events(payload):
        try:
            _add(batch, page_id, event)
        except MALFORMED as exc:
            batch.skipped.append(skipped("event", exc))
    return batch


def _add(batch: Batch, page_id: str, event: dict[str, Any]) -> None:
    psid = str(obj(event.get("sender")).get("id", ""))
    if "message" in event and not obj(event["message"]).get("is_echo"):
        batch.events.append(message_event(psid, page_id, event))
    elif "postback" in event:
        batch.events.append(postback_event(psid, page_id, event))
    elif "delivery" in event:
        delivery = obj(event["delivery"])
        mids = [str(m) for m in delivery.get("mids") or [] if isinstance(m, str)]
        batch.receipts.append(Receipt(psid, "delivered", mids, _watermark(delivery)))
    elif "read" in event:
        batch.receipts.append(Receipt(psid, "read", [], _watermark(obj(event["read"]))))


def _watermark(receipt: dict[str, Any]) -> int | None:
    value = receipt.get("watermark")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _event(psid: str, page_id: str, mid: str, **fields: Any) -> InboundEvent:
    attributes = {"messenger_page_id": page_id, **fields.pop("attributes", {})}
    return InboundEvent.model_validate(
        {
            "channel": Channel.social,
            "external_id": mid,
            "message_external_id": mid,
            "from": {"kind": "messenger", "value": psid},
            "attributes": attributes,
            **fields,
        }
    )


def message_event(psid: str, page_id: str, event: dict[str, Any]) -> InboundEvent:
    message = event["message"]
    attachments = []
    for item in message.get("attachments") or []:
        payload = item.get("payload") or {}
        attachments.append(Attachment(url=payload.get("url"), content_type=item.get("type")))
    text = message.get("text")
    if text is None:
        kinds = ", ".join(str(item.get("type")) for item in message.get("attachments") or [])
        text = f"[{kinds or 'empty message'}]"
    attributes: dict[str, Any] = {}
    if (message.get("quick_reply") or {}).get("payload"):
        attributes["quick_reply_payload"] = message["quick_reply"]["payload"]
    reply_to = (message.get("reply_to") or {}).get("mid")
    return _event(
        psid,
        page_id,
        str(message["mid"]),
        content=text,
        attachments=attachments,
        attributes=attributes,
        thread_refs=[str(reply_to)] if reply_to else [],
    )


def postback_event(psid: str, page_id: str, event: dict[str, Any]) -> InboundEvent:
    postback = event["postback"]
    # Older postbacks carry no mid: the sender and timestamp identify the tap.
    mid = postback.get("mid") or f"postback:{psid}:{event.get('timestamp')}"
    attributes = {"postback_payload": postback.get("payload")}
    if (postback.get("referral") or {}).get("ref"):
        attributes["referral"] = postback["referral"]["ref"]
    return _event(
        psid, page_id, str(mid), content=str(postback.get("title") or "[postback]"), attributes=attributes
    )


def receipts_for(receipt: Receipt, sent: list[tuple[int, str]]) -> list[MessageStatusIn]:
    """The per-message receipts: the listed mids, plus the page's sent messages up to the watermark."""
    mids = list(receipt.mids)
    if receipt.watermark is not None:
        mids += [mid for at, mid in sent if at <= receipt.watermark and mid not in mids]
    return [MessageStatusIn(external_id=mid, status=receipt.status) for mid in mids]
