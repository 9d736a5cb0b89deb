"""Inbound e-mail (RFC 5322/MIME bytes) → an inbound event.

Parsed with the standard library's modern API (``BytesParser(policy=policy.default)``).
Declared charsets are read as the superset mail clients actually use, as browsers do (the
WHATSWG encoding table): ``ks_c_5601-1987`` and ``euc-kr`` are Windows code page 949 (Python
maps them to the smaller EUC-KR, which cannot decode every Hangul syllable), ``gb2312`` is
GB18030, ``iso-8859-1`` and ``us-ascii`` are Windows-1252. Encoded-word headers are decoded
with that table too.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

from router.contracts import Attachment, Channel, CustomerHints, InboundEvent, strip_unstorable

SUPERSETS = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601_1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "euc_kr": "cp949",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
}
MSG_ID = re.compile(r"<[^<>\s]+>")
ESCAPED_BYTES = re.compile("[\udc80-\udcff]")
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_REFS = 20
HTML_KEPT = 20_000


def codec_for(charset: str | None) -> str:
    """The Python codec to read text declared in ``charset`` (UTF-8 if absent or unknown)."""
    name = (charset or "utf-8").strip().strip('"').lower()
    name = SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return "utf-8"


def unescape(text: str, fallback: str | None = None) -> str:
    """Header text that arrived as raw 8-bit bytes (kept by the parser as surrogate escapes), decoded:
    as UTF-8 if it is, else in the message's declared charset, else as Windows-1252."""
    if not ESCAPED_BYTES.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(codec_for(fallback or "windows-1252"), errors="replace")


def clean(text: str) -> str:
    """Without NUL, other control characters and lone surrogates (PostgreSQL text cannot hold NUL or a
    lone surrogate; the router refuses them in every field but the customer's own text)."""
    return strip_unstorable(CONTROLS.sub("", text))


def decode_words(raw: str | None, fallback: str | None = None) -> str:
    """A header value with its RFC 2047 encoded words decoded through :func:`codec_for`."""
    if not raw:
        return ""
    parts = []
    for chunk, charset in decode_header(re.sub(r"\r?\n[ \t]+", " ", unescape(raw, fallback))):
        if isinstance(chunk, str):
            parts.append(chunk)
        elif charset is None:  # text between encoded words, as decode_header escaped it
            parts.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            parts.append(chunk.decode(codec_for(charset), errors="replace"))
    return clean("".join(parts)).strip()


def _raw_header(message: Message, name: str, fallback: str | None = None) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return unescape(str(value), fallback)
    return None


def declared_charset(message: Message) -> str | None:
    """The first charset a part declares: how raw 8-bit headers are most likely encoded."""
    for part in message.walk():
        charset = part.get_content_charset()
        if charset:
            return str(charset)
    return None


def message_ids(*values: str | None) -> list[str]:
    """Message ids (``<…>``) in header values, in order, without repeats."""
    seen: list[str] = []
    for value in values:
        for found in map(clean, MSG_ID.findall(value or "")):
            if found not in seen:
                seen.append(found)
    return seen


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(codec_for(part.get_content_charset()), errors="replace")


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.chunks)
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


def bodies(message: EmailMessage) -> tuple[str | None, str | None]:
    """The plain and HTML bodies (either may be missing)."""
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (_text(plain) if plain is not None else None, _text(html) if html is not None else None)


def attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        found.append(
            Attachment(
                filename=decode_words(filename)[:300] or None if filename else None,
                content_type=clean(part.get_content_type()),
                size=len(payload) if isinstance(payload, bytes) else None,
            )
        )
    return found


def read_mail(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def parse_mail(raw: bytes, *, recipients: list[str] | None = None) -> InboundEvent:
    """The inbound event for one received message."""
    return mail_event(read_mail(raw), raw, recipients=recipients)


def mail_event(message: EmailMessage, raw: bytes, *, recipients: list[str] | None = None) -> InboundEvent:
    charset = declared_charset(message)

    def header(name: str) -> str:
        return _raw_header(message, name, charset) or ""

    senders = getaddresses([header("From")])
    sender_name, sender = senders[0] if senders else ("", "")
    sender = clean(sender).strip().lower()
    if not sender or "@" not in sender or len(sender) > 320:
        raise ValueError("the message has no sender address")
    message_id = next((m for m in message_ids(header("Message-ID")) if len(m) <= 200), None)
    refs = message_ids(header("In-Reply-To"))
    refs += [r for r in reversed(message_ids(header("References"))) if r not in refs]
    plain, html = bodies(message)
    content = plain if plain is not None else html_to_text(html) if html is not None else ""
    recipients_seen = [clean(a) for _, a in getaddresses([header("To")]) if a]
    attributes: dict[str, object] = {"email_to": recipients_seen}
    if recipients:
        attributes["mailbox"] = recipients[0].lower()
    if html is not None:
        attributes["html"] = clean(html[:HTML_KEPT])
    auto = clean(str(message.get("Auto-Submitted", ""))).strip().lower()
    if auto and auto != "no":
        attributes["auto_submitted"] = auto  # an out-of-office or other automatic reply (RFC 3834)
    name = " ".join(decode_words(sender_name, charset).split())[:200] or None
    external_id = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    return InboundEvent.model_validate(
        {
            "channel": Channel.email,
            "external_id": external_id,
            "message_external_id": message_id,
            "thread_refs": [r for r in refs if len(r) <= 300][:MAX_REFS],
            "from": {"kind": "email", "value": sender},
            "customer": CustomerHints(name=name, email=sender),
            "subject": " ".join(decode_words(header("Subject"), charset).split())[:1000] or None,
            "content": clean(content.replace("\r\n", "\n"))[:100_000],
            "attachments": attachments(message),
            "attributes": attributes,
        }
    )
