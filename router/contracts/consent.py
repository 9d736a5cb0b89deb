"""Consent to be contacted: the HTTP bodies of ``/v1/customers/{id}/consent``, the channels consent is
kept for, and the keywords that change it by themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from router.contracts.wire import Strict

# the ways a customer can be reached; WhatsApp and Messenger arrive as channel `social` and are told apart
# by the sender's identity kind
CONSENT_CHANNELS = ("sms", "whatsapp", "messenger", "email", "voice")
ConsentChannel = Literal["sms", "whatsapp", "messenger", "email", "voice"]
ConsentStatus = Literal["opted_in", "opted_out"]
PURPOSE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"

# what a customer texts to opt out or back in (compared without case and surrounding blanks; the carriers'
# and WhatsApp's usual words); `[outbound] stop_words` / `start_words` add others (e.g. 수신거부)
STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
START_WORDS = ("START", "UNSTOP", "SUBSCRIBE")


class ConsentIn(Strict):
    status: ConsentStatus
    purpose: Annotated[str, Field(pattern=PURPOSE_PATTERN, description="`notifications`, `marketing`…")]
    source: Annotated[str, Field(min_length=1, max_length=200, description="where the consent was given")]
    evidence: dict[str, Any] | None = Field(
        default=None, description="what proves it: a form id, a recording, the message that said it…"
    )


class ConsentEntry(BaseModel):
    """One change of the ledger: who (`actor`: the role and token or agent) made it, and when."""

    channel: str
    purpose: str
    status: ConsentStatus
    source: str
    evidence: dict[str, Any] | None = None
    actor: str
    at: datetime


class ConsentOut(BaseModel):
    customer_id: str
    current: list[ConsentEntry] = Field(description="the latest change of each channel and purpose")
    history: list[ConsentEntry] = Field(description="every change, oldest first")
    require_opt_in: list[str] = Field(
        description="purposes for which a customer is contacted only after opting in (`[outbound]"
        " require_opt_in`); every other purpose is allowed unless the customer opted out"
    )


def may_contact(
    current: dict[tuple[str, str], str], channel: str, purpose: str, require_opt_in: list[str]
) -> bool:
    """Whether the consent in force (``(channel, purpose)`` → status) allows contacting the customer."""
    status = current.get((channel, purpose))
    if status is not None:
        return status == "opted_in"
    return purpose not in require_opt_in
