"""Payloads built from the providers' documentation: media, interactive replies, postbacks,
receipts, MMS, and mail in Korean and other charsets."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.email.mime import codec_for, decode_words, parse_mail
from adapters.meta.messenger_payload import Receipt, parse_batch, receipts_for
from adapters.meta.whatsapp_payload import parse_notification
from adapters.twilio.sms import sms_event
from router.contracts import MessageStatusIn
from tests.support.providers import KOREAN_BODY, KOREAN_NAME, KOREAN_SUBJECT, encoded_word, korean_mail

GRAPH = "https://graph.test/v21.0"


def whatsapp(
    messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID"},
        "contacts": [{"profile": {"name": "Kim"}, "wa_id": "821012345678"}],
        "messages": messages or [],
        "statuses": statuses or [],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "W", "changes": [{"value": value, "field": "messages"}]}],
    }


def one(message: dict[str, Any]) -> Any:
    base = {"from": "821012345678", "id": "wamid.X", "timestamp": "1"}
    [event] = parse_notification(whatsapp([{**base, **message}]), graph_url=GRAPH).events
    return event


def test_whatsapp_image_with_caption_is_an_attachment() -> None:
    event = one(
        {
            "type": "image",
            "image": {"caption": "broken", "mime_type": "image/jpeg", "sha256": "x", "id": "MEDIA1"},
        }
    )
    assert event.content == "broken"
    [media] = event.attachments
    assert (media.content_type, media.url) == ("image/jpeg", f"{GRAPH}/MEDIA1")
    assert event.attributes["whatsapp_media_id"] == "MEDIA1"


def test_whatsapp_document_keeps_filename_and_voice_note_has_placeholder_text() -> None:
    doc = one(
        {
            "type": "document",
            "document": {"filename": "invoice.pdf", "mime_type": "application/pdf", "id": "D"},
        }
    )
    assert doc.attachments[0].filename == "invoice.pdf"
    assert doc.content == "[document]"
    audio = one({"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus", "id": "A", "voice": True}})
    assert audio.content == "[audio]" and audio.attachments[0].content_type == "audio/ogg; codecs=opus"


def test_whatsapp_location_contacts_reaction_and_unsupported() -> None:
    loc = one(
        {
            "type": "location",
            "location": {"latitude": 37.5, "longitude": 127.0, "name": "Office", "address": "Seoul"},
        }
    )
    assert loc.content == "[location] Office, Seoul (37.5, 127.0)"
    assert loc.attributes["location"]["latitude"] == 37.5
    contacts = one(
        {
            "type": "contacts",
            "contacts": [{"name": {"formatted_name": "Lee"}, "phones": [{"phone": "+82 10 1111"}]}],
        }
    )
    assert contacts.content == "[contacts] Lee +82 10 1111"
    reaction = one({"type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}})
    assert reaction.content == "[reaction] 👍" and reaction.attributes["reaction_to"] == "wamid.OUT"
    odd = one({"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]})
    assert odd.content == "[unsupported unsupported message]"
    assert odd.attributes["whatsapp_error"] == "Message type unknown"


def test_whatsapp_interactive_and_template_button_replies() -> None:
    button = one(
        {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Yes"}},
        }
    )
    assert (button.content, button.attributes["reply_id"]) == ("Yes", "yes-1")
    listed = one(
        {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "r2", "title": "Refund", "description": "d"},
            },
        }
    )
    assert (listed.content, listed.attributes["interactive_type"]) == ("Refund", "list_reply")
    template = one({"type": "button", "button": {"text": "Stop promotions", "payload": "STOP"}})
    assert (template.content, template.attributes["button_payload"]) == ("Stop promotions", "STOP")


def test_whatsapp_reply_context_threads_to_the_quoted_message() -> None:
    event = one(
        {
            "type": "text",
            "text": {"body": "this one"},
            "context": {"from": "15550001111", "id": "wamid.AGENT"},
        }
    )
    assert event.thread_refs == ["wamid.AGENT"]


def test_whatsapp_statuses_delivered_read_failed_and_ignored_kinds() -> None:
    parsed = parse_notification(
        whatsapp(
            statuses=[
                {"id": "w1", "status": "delivered", "timestamp": "1", "recipient_id": "1"},
                {"id": "w2", "status": "read", "timestamp": "1", "recipient_id": "1"},
                {
                    "id": "w3",
                    "status": "failed",
                    "errors": [{"code": 131047, "title": "Re-engagement message"}],
                },
                {"id": "w4", "status": "deleted"},
            ]
        ),
        graph_url=GRAPH,
    )
    assert parsed.statuses == [
        MessageStatusIn(external_id="w1", status="delivered"),
        MessageStatusIn(external_id="w2", status="read"),
        MessageStatusIn(external_id="w3", status="failed", detail="131047: Re-engagement message"),
    ]


def messenger(*events: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": "PAGE", "time": 1, "messaging": list(events)}]}


PERSON = {"sender": {"id": "PSID1"}, "recipient": {"id": "PAGE"}, "timestamp": 1700000000000}


def test_messenger_attachments_postback_and_echo() -> None:
    batch = parse_batch(
        messenger(
            {
                **PERSON,
                "message": {
                    "mid": "m1",
                    "attachments": [{"type": "image", "payload": {"url": "https://cdn.test/a.jpg"}}],
                },
            },
            {**PERSON, "postback": {"mid": "m2", "title": "Talk to a person", "payload": "HUMAN"}},
            {**PERSON, "postback": {"title": "Get Started", "payload": "START"}},
            {**PERSON, "message": {"mid": "m3", "is_echo": True, "text": "our own reply"}},
            {**PERSON, "message": {"mid": "m4", "text": "that one", "reply_to": {"mid": "mOUT"}}},
        )
    )
    image, postback, old_postback, reply = batch.events
    assert image.content == "[image]" and image.attachments[0].url == "https://cdn.test/a.jpg"
    assert image.attachments[0].content_type == "image"
    assert (postback.external_id, postback.content, postback.attributes["postback_payload"]) == (
        "m2",
        "Talk to a person",
        "HUMAN",
    )
    assert old_postback.external_id == "postback:PSID1:1700000000000"
    assert reply.thread_refs == ["mOUT"]
    assert all(e.from_.kind == "messenger" and e.from_.value == "PSID1" for e in batch.events)


def test_messenger_read_watermark_marks_sent_replies_up_to_it() -> None:
    [read] = parse_batch(messenger({**PERSON, "read": {"watermark": 2000}})).receipts
    assert read == Receipt("PSID1", "read", [], 2000)
    sent = [(1000, "a"), (2000, "b"), (3000, "c")]
    assert [s.external_id for s in receipts_for(read, sent)] == ["a", "b"]
    assert all(s.status == "read" for s in receipts_for(read, sent))
    delivery = Receipt("PSID1", "delivered", ["b"], 1500)
    assert [s.external_id for s in receipts_for(delivery, sent)] == ["b", "a"]


def test_mms_media_urls_become_attachments() -> None:
    event = sms_event(
        {
            "MessageSid": "MM1",
            "From": "+15017122661",
            "To": "+15558675310",
            "Body": "",
            "NumMedia": "2",
            "MediaUrl0": "https://api.twilio.com/media/ME0",
            "MediaContentType0": "image/png",
            "MediaUrl1": "https://api.twilio.com/media/ME1",
            "MediaContentType1": "video/mp4",
        }
    )
    assert [(a.url, a.content_type) for a in event.attachments] == [
        ("https://api.twilio.com/media/ME0", "image/png"),
        ("https://api.twilio.com/media/ME1", "video/mp4"),
    ]


def test_korean_ks_c_5601_1987_mail_decodes_as_cp949() -> None:
    assert codec_for("ks_c_5601-1987") == "cp949"
    event = parse_mail(korean_mail())
    assert event.subject == KOREAN_SUBJECT
    assert event.customer is not None and event.customer.name == KOREAN_NAME
    assert event.from_.value == "kim@example.kr"
    assert event.content is not None and event.content.strip() == KOREAN_BODY


@pytest.mark.parametrize(
    ("charset", "codec", "text"),
    [
        ("utf-8", "utf-8", "Grüße, 你好"),
        ("iso-8859-1", "latin-1", "Crème brûlée"),
        ("euc-kr", "euc-kr", "요금 문의"),
        ("gb2312", "gb2312", "退款申请"),
        ("shift_jis", "shift_jis", "お問い合わせ"),
    ],
)
def test_encoded_word_subjects_in_other_charsets(charset: str, codec: str, text: str) -> None:
    assert decode_words(f"Re: {encoded_word(text, charset, codec)}") == f"Re: {text}"


def test_adjacent_encoded_words_and_folding_join() -> None:
    raw = encoded_word("요금 ") + "\r\n " + encoded_word("문의")
    assert decode_words(raw) == "요금 문의"


def test_html_only_mail_gives_readable_text_and_keeps_the_html() -> None:
    raw = (
        b"From: Ann <ann@example.com>\r\nSubject: hi\r\nMessage-ID: <h@x>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><style>p{}</style><body><p>Hello&nbsp;<b>there</b></p><p>Line&amp;two</p></body></html>\r\n"
    )
    event = parse_mail(raw)
    assert event.content == "Hello\xa0there\nLine&two"
    assert "<b>there</b>" in event.attributes["html"]


def test_attachment_with_encoded_filename_and_unknown_charset_body() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\nplain words\r\n"
        b"--B\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="' + encoded_word("청구서.pdf").encode() + b'"\r\n\r\n'
        b"JVBERi0xLjQK\r\n--B--\r\n"
    )
    event = parse_mail(raw)
    assert event.content is not None and event.content.strip() == "plain words"
    [attachment] = event.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "청구서.pdf",
        "application/pdf",
        9,
    )


def test_mail_without_a_sender_is_refused() -> None:
    with pytest.raises(ValueError, match="sender"):
        parse_mail(b"Subject: nobody\r\n\r\nbody\r\n")


def test_raw_utf8_headers_without_encoded_words() -> None:
    raw = (
        "From: 김철수 <kim@example.kr>\r\nSubject: 요금 문의: 똠\r\nMessage-ID: <raw-1@example.kr>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n본문\r\n"
    ).encode()
    event = parse_mail(raw)
    assert event.subject == "요금 문의: 똠"
    assert event.customer is not None and event.customer.name == "김철수"
    assert event.content is not None and event.content.strip() == "본문"


def test_raw_cp949_headers_read_in_the_declared_charset() -> None:
    raw = (
        b"From: " + "김철수".encode("cp949") + b" <kim@example.kr>\r\nSubject: "
        + "똠방각하 문의".encode("cp949")
        + b"\r\nContent-Type: text/plain; charset=ks_c_5601-1987\r\n\r\n"
        + "본문".encode("cp949") + b"\r\n"
    )  # fmt: skip
    event = parse_mail(raw)
    assert event.subject == "똠방각하 문의"
    assert event.customer is not None and event.customer.name == "김철수"


def test_nul_bytes_and_overlong_ids_do_not_break_the_event() -> None:
    long_id = "<" + "x" * 250 + "@example.com>"
    raw = (
        f"From: a@example.com\r\nMessage-ID: {long_id}\r\nIn-Reply-To: <ok@example.com>\r\n"
        "Subject: nul\x00here\r\n\r\nbody\x00with nul\r\n"
    ).encode()
    event = parse_mail(raw)
    assert event.subject == "nulhere" and event.content == "bodywith nul\n"
    assert event.message_external_id is None and event.external_id.startswith("sha256:")
    assert event.thread_refs == ["<ok@example.com>"]


def test_encoded_line_breaks_in_subject_and_name_become_spaces() -> None:
    raw = (
        b"From: =?utf-8?Q?Ann=0D=0ALee?= <ann@example.com>\r\n"
        b"Subject: =?utf-8?Q?Order=0D=0ABcc:_x@evil.example?=\r\n\r\nbody\r\n"
    )
    event = parse_mail(raw)
    assert event.subject == "Order Bcc: x@evil.example"
    assert event.customer is not None and event.customer.name == "Ann Lee"
