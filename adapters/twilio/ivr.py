"""The voice IVR's decisions, kept apart from HTTP so they can be read (and tested) on their own.

The IVR asks for an intent (a digit or a spoken word) and an account number. Its state lives
in the call itself: each step's ``<Gather action>`` URL carries what was collected so far as
query parameters, so any router process can answer the next request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.twilio.account import caller_identity
from router.contracts import Channel, CustomerHints, InboundEvent

DEFAULT_MENU = {"1": "billing", "2": "sales", "3": "support"}


class IvrMenu:
    def __init__(self, menu: Mapping[str, str], default_intent: str) -> None:
        if not menu:
            raise ValueError("the IVR menu needs at least one option")
        self.menu = dict(menu)
        self.default_intent = default_intent

    @property
    def hints(self) -> str:
        return ", ".join(self.menu.values())

    def prompt(self) -> str:
        options = " ".join(
            f"For {intent}, press {digit} or say {intent}." for digit, intent in self.menu.items()
        )
        return f"Thank you for calling. {options}"

    def intent(self, digits: str | None, speech: str | None) -> str | None:
        """The intent chosen by a digit or named in the speech result, if any."""
        if digits:
            return self.menu.get(digits.strip()[:1])
        if speech:
            words = set(re.findall(r"[\w']+", speech.lower()))
            for intent in self.menu.values():
                if intent.lower() in words:
                    return intent
            for digit, intent in self.menu.items():
                if digit in words:
                    return intent
        return None


def describe_wait(position: int | None, wait_seconds: float | None) -> str:
    """What the caller hears while waiting."""
    parts = []
    if position is not None:
        parts.append("You are next in line." if position <= 1 else f"You are number {position} in the queue.")
    if wait_seconds is not None:
        if wait_seconds < 60:
            parts.append("Your estimated wait is less than a minute.")
        else:
            minutes = math.ceil(wait_seconds / 60)
            parts.append(f"Your estimated wait is about {minutes} minute{'s' if minutes != 1 else ''}.")
    if not parts:
        parts.append("All our agents are busy.")
    parts.append("Please stay on the line.")
    return " ".join(parts)


def describe_closed(opens_at: datetime | None, zone: ZoneInfo, now: datetime | None = None) -> str:
    """What a caller hears when the queue is closed: when it opens, in the adapter's time zone."""
    if opens_at is None:
        return "Sorry, we are closed. Please call again later. Goodbye."
    now = (now or datetime.now(UTC)).astimezone(zone)
    local = opens_at.astimezone(zone)
    clock = local.strftime("%H:%M")
    if local.date() == now.date():
        day = "today"
    elif local.date() == now.date() + timedelta(days=1):
        day = "tomorrow"
    elif local.date() < now.date() + timedelta(days=7):
        day = "on " + local.strftime("%A")
    else:
        day = "on " + local.strftime("%B %d").replace(" 0", " ")
    return f"Sorry, we are closed. We open again {day} at {clock}. Please call back then. Goodbye."


def clean_account(digits: str | None) -> str | None:
    value = re.sub(r"\D", "", digits or "")
    return value or None


def call_event(
    params: Mapping[str, str],
    *,
    intent: str,
    account: str | None,
    intent_input: str | None,
    queues: Mapping[str, str],
    region: str | None = None,
) -> InboundEvent:
    """The inbound event for a call whose IVR is done."""
    attributes: dict[str, object] = {"intent": intent}
    if account:
        attributes["account"] = account
    if intent_input:
        attributes["ivr_input"] = intent_input
    if params.get("To"):
        attributes["called_number"] = params["To"]
    if params.get("FromCountry"):
        attributes["caller_country"] = params["FromCountry"]
    name = params.get("CallerName") or None
    return InboundEvent.model_validate(
        {
            "channel": Channel.voice,
            "external_id": params["CallSid"],
            "from": caller_identity(params.get("From", ""), region),
            "customer": CustomerHints(name=name) if name else None,
            "queue": queues.get(intent),
            "attributes": attributes,
            "subject": f"Call: {intent}",
        }
    )
