"""The channel table: every channel omniroute routes, and every fact about it, in one place.

Python reads it directly; the Lua scripts get the channel list (and which channels are exclusive) in a
header generated from it when they are registered (:func:`lua_header`); the browser pages read it from
``GET /v1/meta``. Adding a channel is one member of :class:`Channel` plus its adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class ChannelSpec:
    label: str
    """What agents read for it ("Call")."""
    arrival: str
    """The title of an offer card for it ("Incoming call")."""
    default_capacity: int
    """Interactions an agent holds at once on it unless configured otherwise."""
    exclusive: bool
    """While an agent holds work on it, the agent takes nothing else, and it needs the other channels
    empty (voice), unless the agent's ``voice_blocks_other_channels`` is false."""
    text: bool
    """Agent and customer exchange written messages on it."""
    reply_identities: tuple[str, ...]
    """Identity kinds an escalation to it can be addressed to, in order of preference."""
    capabilities: tuple[str, ...]
    """What it can do when no adapter has declared otherwise."""
    icon: str
    """An SVG path (24 by 24 view box) the pages draw for it."""


class Channel(StrEnum):
    """A channel omniroute routes; its facts are ``Channel.<name>.spec``. A member's name is its value,
    so ``Channel[name]`` finds it too."""

    _value_: str
    spec: ChannelSpec

    def __new__(cls, value: str, spec: ChannelSpec) -> Channel:
        member = str.__new__(cls, value)
        member._value_ = value
        member.spec = spec
        return member

    voice = (
        "voice",
        ChannelSpec(
            label="Call",
            arrival="Incoming call",
            default_capacity=1,
            exclusive=True,
            text=False,
            reply_identities=("phone",),
            capabilities=("voice",),
            icon=(
                "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 "
                "1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 "
                "3.57a1 1 0 0 1-.25 1z"
            ),
        ),
    )
    chat = (
        "chat",
        ChannelSpec(
            label="Chat",
            arrival="New chat",
            default_capacity=3,
            exclusive=False,
            text=True,
            reply_identities=("chat_visitor",),
            capabilities=("text",),
            icon="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
        ),
    )
    email = (
        "email",
        ChannelSpec(
            label="E-mail",
            arrival="New e-mail",
            default_capacity=5,
            exclusive=False,
            text=True,
            reply_identities=("email",),
            capabilities=("text", "subject"),
            icon=(
                "M3 5h18a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm0 2v.5l9 5.5 "
                "9-5.5V7l-9 5.5z"
            ),
        ),
    )
    social = (
        "social",
        ChannelSpec(
            label="Social",
            arrival="New social message",
            default_capacity=3,
            exclusive=False,
            text=True,
            reply_identities=("whatsapp", "messenger", "phone"),
            capabilities=("text", "media", "delivery_receipts", "read_receipts"),
            icon="M12 3a9 9 0 0 0-7.8 13.5L3 21l4.6-1.2A9 9 0 1 0 12 3z",
        ),
    )
    sms = (
        "sms",
        ChannelSpec(
            label="SMS",
            arrival="New SMS",
            default_capacity=3,
            exclusive=False,
            text=True,
            reply_identities=("phone",),
            capabilities=("text", "media", "delivery_receipts"),
            icon=(
                "M5 3h14a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2h-5l-5 4v-4H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm2 "
                "6v2h2V9zm4 0v2h2V9zm4 0v2h2V9z"
            ),
        ),
    )


CHANNELS: tuple[Channel, ...] = tuple(Channel)
DEFAULT_CAPACITY: dict[str, int] = {ch.value: ch.spec.default_capacity for ch in Channel}


def lua_header() -> str:
    """The channel table as the Lua scripts see it, prepended to every script when it is registered."""
    names = ", ".join(f"'{ch.value}'" for ch in Channel)
    exclusive = ", ".join(f"{ch.value} = true" for ch in Channel if ch.spec.exclusive)
    return (
        "-- generated from router/contracts/channels.py when the scripts are registered\n"
        f"local CHANNELS = {{{names}}}\n"
        f"local EXCLUSIVE = {{{exclusive}}}\n"
    )
