"""Identity keys: which raw addresses identify a customer, and their one normal form.

A key is what ties a contact to a customer, so only an address that names one person is a key:

- phone-like addresses (a caller id, an SMS sender, a WhatsApp ``wa_id``) are parsed by
  ``phonenumbers`` (libphonenumber) and become ``phone`` in E.164; a national-format number is
  read in the region given (the deployment's ``[identity] default_region`` or an adapter's own);
  an extension never joins the number;
- a number that is not possible for its country (wrong length, no country) is *not* a key;
- a withheld caller id (the words carriers and Twilio send, Twilio's placeholder numbers, the kind
  ``anonymous_caller``, an empty value) is *not* a key: every such contact is a customer of its own;
- e-mail addresses are compared case-insensitively; other kinds (a web visitor id, a Messenger
  PSID) are kept as given.

Possibility, not validity, is the test for a number: libphonenumber's validity rejects the ranges
kept for fiction and tests (``+44 7700 900xxx``) and ranges allocated after its metadata was cut,
while a number of the wrong length for its country can never ring anyone.
"""

from __future__ import annotations

import re

import phonenumbers

PHONE_KINDS = frozenset({"phone", "whatsapp", "sms", "voice"})
"""Kinds whose value is a telephone number; all of them resolve as ``phone``."""

ANONYMOUS_KIND = "anonymous_caller"

WITHHELD_WORDS = frozenset(
    {
        "",
        "anonymous",
        "restricted",
        "unknown",
        "private",
        "unavailable",
        "withheld",
        "blocked",
        "unknown caller",
        "private number",
        "no caller id",
    }
)
"""Caller ids, compared case-insensitively, that say the number was not given."""

WITHHELD_NUMBERS = frozenset({"+266696687", "+86282452253", "+7378742833", "+2562533"})
"""Twilio's placeholders for a withheld (anonymous, restricted, unavailable) caller id."""

_URI_PREFIXES = ("whatsapp:", "tel:", "sip:", "sips:")
_DIGITS_ONLY = re.compile(r"^\d+$")


class NotAnIdentity(ValueError):
    """The address names no one reliably: the contact is routed as a customer of its own."""

    reason: str = "invalid"


class WithheldIdentity(NotAnIdentity):
    """The caller id was withheld, restricted or a placeholder: the contact is anonymous."""

    reason = "anonymous"


def is_withheld(kind: str, value: str) -> bool:
    """Whether this address says that the caller's real number was not given."""
    kind = kind.strip().lower()
    if kind == ANONYMOUS_KIND:
        return True
    raw = value.strip()
    if raw.lower() in WITHHELD_WORDS:
        return True
    if kind in PHONE_KINDS:
        bare = _strip_uri(raw)
        if bare.lower() in WITHHELD_WORDS:
            return True
        compact = re.sub(r"[^\d+]", "", bare)
        if compact in WITHHELD_NUMBERS or "+" + compact.lstrip("+") in WITHHELD_NUMBERS:
            return True
    return False


def _strip_uri(value: str) -> str:
    lowered = value.lower()
    for prefix in _URI_PREFIXES:
        if lowered.startswith(prefix):
            value = value[len(prefix) :]
            if prefix.startswith("sip"):
                value = value.split("@", 1)[0]
            break
    return value.strip()


def phone_e164(value: str, region: str | None = None, *, international: bool = False) -> str:
    """The E.164 form of a telephone number; :class:`NotAnIdentity` when it is not a possible one.

    ``region`` (ISO 3166 alpha-2, e.g. ``US``) reads a national-format number; without it only an
    international number (``+…`` or ``00…``) is accepted. ``international`` says the digits are
    already international without the ``+`` (a WhatsApp ``wa_id``). ``tel:`` URIs and their
    ``;ext=`` parameter are understood; the extension is dropped.
    """
    raw = value.strip()
    lowered = raw.lower()
    if lowered.startswith("whatsapp:") or lowered.startswith("sip:") or lowered.startswith("sips:"):
        raw = _strip_uri(raw)
    text = raw
    if not lowered.startswith("tel:"):
        compact = re.sub(r"[\s().\-/]", "", text)
        if international and _DIGITS_ONLY.match(compact):
            text = "+" + compact
        elif compact.startswith("00") and _DIGITS_ONLY.match(compact[2:] or "x"):
            # 00 is the international prefix of most of the world, whatever the default region
            text = "+" + compact[2:]
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        raise NotAnIdentity(f"not a telephone number: {value!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise NotAnIdentity(f"not a possible telephone number: {value!r}")
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if e164 in WITHHELD_NUMBERS:
        raise WithheldIdentity(f"withheld caller id: {value!r}")
    return e164


def is_region(code: str) -> bool:
    """Whether ``code`` is a region libphonenumber knows (``US``, ``GB``, …)."""
    return code.upper() in phonenumbers.SUPPORTED_REGIONS


def normalize_identity(kind: str, value: str, region: str | None = None) -> tuple[str, str]:
    """Map a raw address to its resolution key ``(kind, value)``.

    Raises :class:`WithheldIdentity` for a withheld caller id and :class:`NotAnIdentity` for any
    other address that cannot identify a customer; both are ``ValueError``.
    """
    kind = kind.strip().lower()
    value = value.strip()
    if is_withheld(kind, value):
        raise WithheldIdentity(f"withheld caller id ({kind}: {value!r})")
    if kind in PHONE_KINDS:
        return "phone", phone_e164(value, region, international=kind == "whatsapp")
    if kind == "email":
        if "@" not in value.strip("@"):
            raise NotAnIdentity("email identity must contain @ between two parts")
        return "email", value.lower()
    return kind, value
