"""What text the router accepts, in one place.

PostgreSQL cannot hold two kinds of character that JSON can carry: NUL (``\\u0000``) and a lone UTF-16
surrogate (``"\\ud800"`` without its pair). Two rules follow:

- **Text a customer wrote** (:data:`CustomerText`: a message's content or body, a subject, a display name
  in the hints) is never lost over such a character: it is stored without them, the rest exactly as sent.
- **Every other string** a contract receives is refused with an error that names the field (and, inside
  a free-form object such as ``attributes``, the path to the value): :class:`router.contracts.Strict`
  checks every field it receives with :func:`unstorable_path`.

Bodies are parsed by :func:`parse_json`, which also refuses what JSON does not allow (``NaN``,
``Infinity``) and nesting deeper than :data:`MAX_JSON_DEPTH`; :func:`validation_errors` turns a
pydantic error into the ``errors`` list of a problem (HTTP) or an ``error`` frame (sockets).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

MAX_JSON_DEPTH = 32
"""How deeply arrays and objects may nest in a body or a frame; contracts need far less."""

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL and UTF-16 surrogates. A surrogate pair in JSON (``"\\ud83d\\ude00"``) decodes to one astral
character, so any surrogate left in a decoded string is a lone one."""

UNSTORABLE_TYPE = "unstorable_text"


def strip_unstorable(value: str) -> str:
    """The text without the characters PostgreSQL cannot hold; everything else is kept as it was."""
    return UNSTORABLE.sub("", value)


def _strip_if_text(value: Any) -> Any:
    return strip_unstorable(value) if isinstance(value, str) else value


CustomerText = Annotated[str, BeforeValidator(_strip_if_text)]
"""Text a customer wrote: stored without NUL and lone surrogates, never refused for them."""


def unstorable_path(value: Any) -> list[str | int] | None:
    """Where a NUL or a lone surrogate sits in a value (strings, and the keys and values of dicts and
    lists at any depth): the path to the first one, ``[]`` for the value itself, None when there is
    none. Pydantic models inside are skipped: they check their own fields."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and UNSTORABLE.search(key):
                    return [*path, key]
                stack.append(([*path, key], child))
        elif isinstance(item, list | tuple):
            stack.extend(([*path, i], child) for i, child in enumerate(item))
    return None


def refuse_unstorable(value: Any) -> Any:
    """``value`` unchanged, or a validation error that points at the NUL or lone surrogate inside it."""
    path = unstorable_path(value)
    if path is not None:
        raise PydanticCustomError(
            UNSTORABLE_TYPE,
            "text must not contain NUL (\\u0000) or a lone surrogate",
            {"path": path},
        )
    return value


class BodyError(ValueError):
    """A body or frame that is not acceptable JSON. ``decodable`` is False when it is not even text."""

    def __init__(self, message: str, *, decodable: bool = True) -> None:
        super().__init__(message)
        self.decodable = decodable


def _no_constant(name: str) -> Any:
    raise BodyError(f"{name} is not a JSON value")


def parse_json(raw: bytes | str) -> Any:
    """Decode a body or frame: UTF-8 JSON without ``NaN``/``Infinity``, nested at most
    :data:`MAX_JSON_DEPTH` deep. Raises :class:`BodyError`."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(f"the body is not UTF-8: {exc.reason}", decodable=False) from exc
    if _brackets_too_deep(raw):
        raise BodyError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw or "null", parse_constant=_no_constant)
    except BodyError:
        raise
    except RecursionError as exc:  # the parser guards its own recursion: far past any sane depth
        raise BodyError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:
        raise BodyError(f"the body is not valid JSON: {exc}") from exc
    if _too_deep(data):
        raise BodyError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return data


_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
"""A JSON string (skipped whole) or a bracket: what nesting is counted from."""


def _brackets_too_deep(text: str) -> bool:
    """Whether the text nests deeper than :data:`MAX_JSON_DEPTH`, counted before parsing: the parser's
    own limit surfaces as a RecursionError, after which CPython 3.11's recursion bookkeeping is off for
    the rest of the process (a later ``compile`` fails with SystemError)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for token in _TOKENS.finditer(text):
        c = token.group()
        if c in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif c in "]}":
            depth -= 1
    return False


def _too_deep(data: Any) -> bool:
    """Whether arrays and objects nest deeper than :data:`MAX_JSON_DEPTH` (walked without recursion)."""
    stack: list[tuple[int, Any]] = [(1, data)]
    while stack:
        depth, item = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((depth + 1, child) for child in children)
    return False


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """A pydantic error as the ``errors`` of a problem: each with ``loc`` (down to the value inside a
    free-form object), ``msg`` and ``type``; never the rejected input."""
    out: list[dict[str, Any]] = []
    for e in exc.errors():
        loc = list(e["loc"])
        if e["type"] == UNSTORABLE_TYPE:
            loc += (e.get("ctx") or {}).get("path", [])
        out.append({"loc": loc, "msg": e["msg"], "type": e["type"]})
    return out
