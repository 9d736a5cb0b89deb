"""Every recorded provider payload parses into the right inbound event (or receipt)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from adapters.email.mime import parse_mail
from adapters.meta.messenger_payload import parse_batch, receipts_for
from adapters.meta.whatsapp_payload import parse_notification
from adapters.twilio.ivr import DEFAULT_MENU, IvrMenu, call_event, clean_account
from adapters.twilio.sms import sms_event
from router.contracts import Channel, InboundEvent, MessageStatusIn, normalize_identity
from tests.support.providers import fixture_bytes, fixture_json, providers_dir

COVERED = {
    "twilio_voice/incoming_call.txt",
    "twilio_voice/incoming_call.params.json",
    "twilio_voice/signature_vector_gather_callback.txt",
    "twilio_voice/signature_vector_gather_callback.params.json",
    "twilio_sms/incoming_sms.txt",
    "twilio_sms/incoming_sms.params.json",
    "twilio_sms/request_headers.json",
    "whatsapp_cloud/text_message.json",
    "whatsapp_cloud/status_sent.json",
    "whatsapp_cloud/webhook_verification_GET.txt",
    "messenger/messages_text_event.json",
    "messenger/message_deliveries_event.json",
    "email/reply_in_reply_to_references.eml",
    "email/multipart_alternative_gmail_reply.eml",
    "email/multipart_mixed_gif_attachment.eml",
}


def form(relative: str) -> dict[str, str]:
    return dict(parse_qsl(fixture_bytes(relative).decode().strip(), keep_blank_values=True))


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": "PAGE", "time": 1458692752478, "messaging": [event]}]}


def test_every_recorded_fixture_is_covered_here() -> None:
    base = providers_dir()
    present = {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and p.name != "README.md"}
    assert present == COVERED, "a new fixture needs a parse test"
    for relative in COVERED:  # the test files referenced by the signature and webhook tests too
        assert (base / relative).stat().st_size > 0


def test_twilio_form_bodies_match_their_params_json() -> None:
    for stem in ("twilio_voice/incoming_call", "twilio_sms/incoming_sms"):
        assert form(f"{stem}.txt") == fixture_json(f"{stem}.params.json")


def test_incoming_call_becomes_a_voice_event_from_the_caller() -> None:
    params = form("twilio_voice/incoming_call.txt")
    event = call_event(params, intent="billing", account="42", intent_input="dtmf", queues={})
    assert event.channel == Channel.voice
    assert event.external_id == "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    # From is the caller (the template swaps Caller/Called, From/To are right).
    assert (event.from_.kind, event.from_.value) == ("phone", "+15017122661")
    assert event.attributes == {
        "intent": "billing",
        "account": "42",
        "ivr_input": "dtmf",
        "called_number": "+15558675310",
        "caller_country": "US",
    }
    assert event.join_open is None and event.queue is None


def test_gather_callback_vector_reads_as_an_account_number() -> None:
    params = form("twilio_voice/signature_vector_gather_callback.txt")
    assert clean_account(params["Digits"]) == "1234"
    assert IvrMenu(DEFAULT_MENU, "general").intent(params["Digits"], None) == "billing"


def test_incoming_sms_becomes_an_sms_event() -> None:
    event = sms_event(form("twilio_sms/incoming_sms.txt"))
    assert event.channel == Channel.sms
    assert event.external_id == event.message_external_id == "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    assert (event.from_.kind, event.from_.value) == ("phone", "+15017122661")
    assert event.content == "Ahoy"
    assert event.attachments == []
    assert event.attributes == {"to_number": "+15558675310", "sender_country": "US"}


def test_whatsapp_text_message() -> None:
    payload = fixture_json("whatsapp_cloud/text_message.json")
    parsed = parse_notification(payload, graph_url="https://graph.test/v21.0")
    assert parsed.statuses == []
    [event] = parsed.events
    assert event.channel == Channel.social
    wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert event.external_id == event.message_external_id == wamid
    assert (event.from_.kind, event.from_.value) == ("whatsapp", "16505551234")
    assert normalize_identity(event.from_.kind, event.from_.value) == ("phone", "+16505551234")
    assert event.customer is not None and event.customer.name == "Sheena Nelson"
    assert event.content == "Does it come in another color?"
    assert event.attributes["whatsapp_phone_number_id"] == "106540352242922"
    assert event.attributes["whatsapp_type"] == "text"


def test_whatsapp_status_sent_becomes_a_receipt() -> None:
    parsed = parse_notification(fixture_json("whatsapp_cloud/status_sent.json"), graph_url="g")
    assert parsed.events == []
    assert parsed.statuses == [
        MessageStatusIn(
            external_id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", status="sent"
        )
    ]


def test_messenger_text_event_with_quick_reply() -> None:
    batch = parse_batch(envelope(fixture_json("messenger/messages_text_event.json")))
    assert batch.receipts == []
    [event] = batch.events
    assert event.channel == Channel.social
    assert event.external_id == event.message_external_id == "mid.1457764197618:41d102a3e1ae206a38"
    assert (event.from_.kind, event.from_.value) == ("messenger", "<PSID>")
    assert event.content == "hello, world!"
    assert event.attributes == {
        "messenger_page_id": "PAGE",
        "quick_reply_payload": "<DEVELOPER_DEFINED_PAYLOAD>",
    }


def test_messenger_delivery_event_marks_its_mids_delivered() -> None:
    batch = parse_batch(envelope(fixture_json("messenger/message_deliveries_event.json")))
    assert batch.events == []
    [receipt] = batch.receipts
    assert receipt.watermark == 1458668856253
    assert receipts_for(receipt, []) == [
        MessageStatusIn(external_id="mid.1458668856218:ed81099e15d3f4f233", status="delivered")
    ]


def mail(relative: str) -> InboundEvent:
    return parse_mail(fixture_bytes(relative), recipients=["Support@Example.com"])


def test_thunderbird_reply_threads_by_in_reply_to_and_references() -> None:
    event = mail("email/reply_in_reply_to_references.eml")
    assert event.channel == Channel.email
    assert event.external_id == event.message_external_id == "<473FFE27.20003@xxx.org>"
    assert event.thread_refs == ["<348F04F142D69C21-291E56D292BC@xxxx.net>", "<473FF3B8.9020707@xxx.org>"]
    assert (event.from_.kind, event.from_.value) == ("email", "xxxxxxxx@xxx.org")
    assert event.customer is not None and event.customer.name == "Testing"
    assert event.subject == "Re: Test reply email"
    assert event.content == "Message body\n"
    assert event.attributes["mailbox"] == "support@example.com"
    assert event.attributes["email_to"] == ["mikel@xxxx.net"]


def test_gmail_alternative_keeps_plain_and_html_bodies() -> None:
    event = mail("email/multipart_alternative_gmail_reply.eml")
    assert event.external_id == "<AANLkTikbSvKnE9RjZLNrpupmNMKChv2Kz8qB3HAagmSw@mail.gmail.com>"
    assert event.thread_refs == [
        "<AANLkTinUdYK2NpEiYCKGnCEp_OXKqst_bWNdBVHsfDVh@mail.gmail.com>",
        "<AANLkTi=1ANR2FzeeQ-vK3-_ty0gUrOsAxMRYkob6CL-c@mail.gmail.com>",
    ]
    assert event.subject == "Fwd: Please forward this email to me"
    assert event.content is not None and "Forward please" in event.content
    html = event.attributes["html"]
    assert '<div class="gmail_quote">' in html  # quoted-printable decoded
    assert event.customer is not None and event.customer.email == "hello@example.com"


def test_mixed_message_keeps_its_attachment_as_metadata() -> None:
    event = mail("email/multipart_mixed_gif_attachment.eml")
    assert event.content == "Hi there,\n\nThis is the dingus fish.\n"
    assert event.subject == "Here is your dingus fish"
    [attachment] = event.attachments
    assert (attachment.filename, attachment.content_type) == ("dingusfish.gif", "image/gif")
    assert attachment.size is not None and attachment.size > 3000
    assert attachment.url is None
    # No Message-ID: the external id is derived from the bytes, so a resend is still idempotent.
    assert event.message_external_id is None
    assert event.external_id == mail("email/multipart_mixed_gif_attachment.eml").external_id
    assert event.external_id.startswith("sha256:")
