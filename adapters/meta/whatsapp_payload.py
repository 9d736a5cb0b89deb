"""WhatsApp Cloud API webhook notifications → inbound events and receipts.

A notification is ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"value":
…}]}]}``; each value holds ``messages`` (with ``contacts`` naming their senders) and/or
``statuses`` of messages the business sent. Every message type becomes text a person can
read, plus attachments for media; what the text cannot carry (button ids, coordinates, the
replied-to message) goes into attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from adapters.kit.payloads import MALFORMED, dicts, obj, skipped
from router.contracts import Attachment, Channel, CustomerHints, InboundEvent, MessageStatusIn

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
RECEIPTS = {"sent", "delivered", "read", "failed"}


@dataclass
class Notification:
    events: list[InboundEvent] = field(default_factory=list)
    statuses: list[MessageStatusIn] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _values(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in dicts(payload.get("entry")):
        for change in dicts(entry.get("changes")):
            if change.get("field", "messages") == "messages" and isinstance(change.get("value"), dict):
                yield change["value"]


def parse_notification(payload: dict[str, Any], *, graph_url: str) -> Notification:
    """Everything in one webhook POST. ``graph_url`` (``{base}/{version}``) locates media."""
    out = Notification()
    for value in _values(payload):
        metadata = obj(value.get("metadata"))
        names = {str(c.get("wa_id")): obj(c.get("profile")).get("name") for c in dicts(value.get("contacts"))}
        for message in dicts(value.get("messages")):
            try:
                out.events.append(message_event(message, metadata, names, graph_url))
            except MALFORMED as exc:
                out.skipped.append(skipped("message", exc))
        for status in dicts(value.get("statuses")):
            try:
                receipt = status_receipt(status)
            except MALFORMED as exc:
                out.skipped.append(skipped("status", exc))
                continue
            if receipt is not None:
                out.statuses.append(receipt)
    return out


def message_event(
    message: dict[str, Any], metadata: dict[str, Any], names: dict[Any, Any], graph_url: str
) -> InboundEvent:
    sender = str(message.get("from", ""))
    kind = str(message.get("type", "unknown"))
    text, attachments, extra = describe(message, graph_url)
    attributes: dict[str, Any] = {"whatsapp_type": kind, **extra}
    if metadata.get("phone_number_id"):
        attributes["whatsapp_phone_number_id"] = str(metadata["phone_number_id"])
    if metadata.get("display_phone_number"):
        attributes["business_number"] = str(metadata["display_phone_number"])
    context = message.get("context") or {}
    thread_refs = [str(context["id"])] if context.get("id") else []
    name = names.get(sender)
    return InboundEvent.model_validate(
        {
            "channel": Channel.social,
            "external_id": str(message["id"]),
            "message_external_id": str(message["id"]),
            "from": {"kind": "whatsapp", "value": sender},
            "customer": CustomerHints(name=name) if name else None,
            "content": text,
            "attachments": attachments,
            "attributes": attributes,
            "thread_refs": thread_refs,
        }
    )


def describe(message: dict[str, Any], graph_url: str) -> tuple[str, list[Attachment], dict[str, Any]]:
    """The readable text, the attachments and extra attributes of one message of any type."""
    kind = message.get("type")
    body = message.get(str(kind)) or {}
    if kind == "text":
        return str(body.get("body", "")), [], {}
    if kind in MEDIA_TYPES:
        media = Attachment(
            filename=body.get("filename"),
            content_type=body.get("mime_type"),
            url=f"{graph_url}/{body['id']}" if body.get("id") else None,
        )
        caption = body.get("caption") or f"[{kind}]"
        return str(caption), [media], {"whatsapp_media_id": body.get("id")}
    if kind == "location":
        place = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
        text = f"[location] {place} ({body.get('latitude')}, {body.get('longitude')})".replace("]  (", "] (")
        return text, [], {"location": {k: body.get(k) for k in ("latitude", "longitude", "name", "address")}}
    if kind == "contacts":
        shared = [_contact_line(c) for c in message.get("contacts") or []]
        return "[contacts] " + "; ".join(shared), [], {}
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply") or body.get("nfm_reply") or {}
        title = reply.get("title") or reply.get("body") or ""
        return str(title), [], {"reply_id": reply.get("id"), "interactive_type": body.get("type")}
    if kind == "button":
        return str(body.get("text", "")), [], {"button_payload": body.get("payload")}
    if kind == "reaction":
        emoji = body.get("emoji") or "(reaction removed)"
        return f"[reaction] {emoji}", [], {"reaction_to": body.get("message_id")}
    if kind == "order":
        items = body.get("product_items") or []
        return f"[order] {len(items)} item(s)", [], {"order": body}
    if kind == "system":
        return f"[system] {body.get('body', '')}".strip(), [], {}
    errors = message.get("errors") or []
    detail = errors[0].get("title") if errors else None
    return f"[unsupported {kind} message]", [], {"whatsapp_error": detail}


def _contact_line(contact: dict[str, Any]) -> str:
    name = (contact.get("name") or {}).get("formatted_name", "")
    phones = ", ".join(str(p.get("phone")) for p in contact.get("phones") or [] if p.get("phone"))
    return f"{name} {phones}".strip()


def status_receipt(status: dict[str, Any]) -> MessageStatusIn | None:
    state = status.get("status")
    if state not in RECEIPTS or not isinstance(status.get("id"), str) or not status["id"]:
        return None
    errors = status.get("errors") or []
    detail = None
    if errors:
        first = errors[0]
        detail = f"{first.get('code')}: {first.get('title') or first.get('message')}"
    return MessageStatusIn(external_id=str(status["id"]), status=state, detail=detail)
