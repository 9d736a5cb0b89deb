"""Text that PostgreSQL can store.

PostgreSQL's ``text`` and ``jsonb`` cannot hold the NUL character, and UTF-8 (the wire and the database
encoding) cannot hold a lone UTF-16 surrogate (``"\\ud800"`` in JSON decodes to one). Two rules, chosen
per field:

- text a person wrote for a person (a message body, a note, a summary) is never lost over an odd
  character: :data:`STRIP` removes those characters and keeps the rest as sent;
- every other string (ids, codes, names the router looks up) is refused with a validation error naming
  the field: :data:`REFUSE`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL and surrogate code points. A decoded Python string holds a surrogate only when it was sent alone:
a valid pair (``"\\ud83d\\ude00"``) decodes to one character outside the range."""


def storable(text: str) -> str:
    """``text`` without the characters PostgreSQL cannot store (NUL, lone surrogates)."""
    return UNSTORABLE.sub("", text)


def is_storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None


def _strip(value: Any) -> Any:
    return storable(value) if isinstance(value, str) else value


def _refuse(value: str) -> str:
    if not is_storable(value):
        raise ValueError("contains a NUL character or a lone surrogate, which cannot be stored")
    return value


STRIP = BeforeValidator(_strip)
"""For text a person wrote: NUL and lone surrogates removed before the field's own checks, so its length
limits apply to what is kept (``Annotated[str, Field(max_length=200), STRIP]``)."""

REFUSE = AfterValidator(_refuse)
"""For any other string: NUL or a lone surrogate is a validation error on the field."""

WrittenText = Annotated[str, STRIP]
PlainText = Annotated[str, REFUSE]
