"""The error codes the Lua scripts return, in one table.

A script answers a negative number when it refuses; each number means one thing in every script. The Lua
side gets ``E.<NAME>`` from a header generated from this table when the scripts are registered; the
engine turns a code into the typed error here (:func:`raise_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique

from router.errors import Conflict, NotFound, NotReady, OfferGone, OmnirouteError


@unique
class ScriptError(IntEnum):
    NOT_READY = -1
    NO_SUCH_OFFER = -2
    NOT_YOUR_OFFER = -3
    NOT_HELD = -4
    ALREADY_IN_WRAPUP = -5
    STALE_SESSION = -6
    UNKNOWN_AGENT = -7
    MOVED_ON = -8
    NOT_WAITING = -21
    NOT_A_CALLBACK = -22


@dataclass(frozen=True)
class _Meaning:
    error: type[OmnirouteError]
    message: str


MEANINGS: dict[ScriptError, _Meaning] = {
    ScriptError.NOT_READY: _Meaning(NotReady, "the live routing index is being rebuilt"),
    ScriptError.NO_SUCH_OFFER: _Meaning(OfferGone, "offer {offer} is no longer open (timed out or revoked)"),
    ScriptError.NOT_YOUR_OFFER: _Meaning(OfferGone, "offer {offer} is not yours"),
    ScriptError.NOT_HELD: _Meaning(NotFound, "interaction {interaction} is not held by agent {agent}"),
    ScriptError.ALREADY_IN_WRAPUP: _Meaning(Conflict, "interaction {interaction} is already in wrap-up"),
    ScriptError.STALE_SESSION: _Meaning(Conflict, "desktop session {session} of agent {agent} was replaced"),
    ScriptError.UNKNOWN_AGENT: _Meaning(NotFound, "agent {agent} is not configured"),
    ScriptError.MOVED_ON: _Meaning(
        Conflict, "the live index moved on since the reject of offer {offer}; the reject stands"
    ),
    ScriptError.NOT_WAITING: _Meaning(Conflict, "interaction {interaction} is not waiting in its queue"),
    ScriptError.NOT_A_CALLBACK: _Meaning(Conflict, "interaction {interaction} is not a callback"),
}


def raise_for(code: int, **context: str) -> None:
    """Raise the typed error a script's negative answer stands for."""
    try:
        meaning = MEANINGS[ScriptError(code)]
    except ValueError:
        raise Conflict(f"refused with an unknown code {code}") from None
    raise meaning.error(meaning.message.format_map(_Blank(context)))


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def lua_header() -> str:
    """The table as the Lua scripts see it, prepended to every script when it is registered."""
    pairs = ", ".join(f"{e.name} = {e.value}" for e in ScriptError)
    return f"-- generated from router/routing/script_errors.py\nlocal E = {{{pairs}}}\n"
