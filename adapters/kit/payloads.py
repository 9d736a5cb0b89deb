"""Walking a provider's JSON defensively: a signed payload can still hold a shape we do not know
(a new message type, a field that became a list). One odd item is skipped and reported; the rest of
the notification still goes through, and the provider is not made to retry it forever."""

from __future__ import annotations

from typing import Any

# What converting an item of an unexpected shape raises (pydantic's ValidationError is a ValueError).
MALFORMED = (KeyError, TypeError, AttributeError, ValueError)


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON array (nothing if it is not one)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one."""
    return value if isinstance(value, dict) else {}


def skipped(kind: str, exc: Exception) -> str:
    return f"{kind}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
