"""Customers' contact preferences and proactive campaigns: the HTTP bodies of ``PATCH /v1/customers/{id}``
and ``/v1/campaigns``, and the table of channels a campaign message can go by."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from router.contracts.channels import Channel
from router.contracts.consent import PURPOSE_PATTERN
from router.contracts.reports import is_timezone
from router.contracts.wire import Strict


class SendChannel(BaseModel):
    """A way a campaign message reaches a customer: the consent channel it is named by, the routing channel
    its adapter serves, the identity kind it is addressed to and the adapter that sends it (``None``: any
    adapter of the channel)."""

    name: str
    channel: Channel
    identity: str
    adapter: str | None


# consent channel → how a message goes by it (WhatsApp and Messenger share the routing channel `social`)
SEND_CHANNELS: dict[str, SendChannel] = {
    "sms": SendChannel(name="sms", channel=Channel.sms, identity="phone", adapter=None),
    "whatsapp": SendChannel(name="whatsapp", channel=Channel.social, identity="phone", adapter="whatsapp"),
    "messenger": SendChannel(
        name="messenger", channel=Channel.social, identity="messenger", adapter="messenger"
    ),
    "email": SendChannel(name="email", channel=Channel.email, identity="email", adapter=None),
}

# a preferred channel (from the channel table) → the ways a message can go by it, in order
BY_PREFERRED: dict[str, tuple[str, ...]] = {
    Channel.sms.value: ("sms",),
    Channel.email.value: ("email",),
    Channel.social.value: ("whatsapp", "messenger"),
    Channel.voice.value: (),
    Channel.chat.value: (),
}

OUTCOMES = (
    "queued",
    "sent",
    "delivered",
    "read",
    "failed",
    "replied",
    "skipped_no_consent",
    "deferred_quiet_hours",
    "opted_out",
)
Outcome = Literal[
    "queued",
    "sent",
    "delivered",
    "read",
    "failed",
    "replied",
    "skipped_no_consent",
    "deferred_quiet_hours",
    "opted_out",
]
CampaignStatus = Literal["draft", "running", "paused", "cancelled", "completed"]
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8})*$")
CAMPAIGN_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


# ---------------------------------------------------------------- preferences


class PreferencesIn(Strict):
    """Only the fields given change; ``null`` clears one."""

    preferred_channel: str | None = Field(
        default=None, description="a channel of the channel table (`sms`, `email`, `social`, `voice`, `chat`)"
    )
    timezone: str | None = Field(default=None, description="an IANA time zone (`Asia/Seoul`)")
    language: str | None = Field(default=None, description="a BCP 47 language tag (`ko`, `en-US`)")

    @field_validator("preferred_channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        if v is not None and v not in BY_PREFERRED:
            raise ValueError(f"not a channel: one of {', '.join(BY_PREFERRED)}")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        if v is not None and not is_timezone(v):
            raise ValueError("not an IANA time zone")
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is not None and (len(v) > 35 or not LANGUAGE.match(v)):
            raise ValueError("not a BCP 47 language tag")
        return v

    @model_validator(mode="after")
    def _some(self) -> PreferencesIn:
        if not self.model_fields_set:
            raise ValueError("name at least one of preferred_channel, timezone, language")
        return self


class CustomerPreferencesOut(BaseModel):
    id: str
    name: str | None
    email: str | None
    phone: str | None
    preferred_channel: str | None
    timezone: str | None = Field(description="as set, else derived from the phone number when unambiguous")
    timezone_source: Literal["set", "phone"] | None = Field(
        description="`set` by an admin or supervisor, `phone`: the only zone of the customer's number"
    )
    language: str | None
    updated_at: datetime | None = None


# ---------------------------------------------------------------- campaigns


class WhatsAppTemplate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=512)]
    language: Annotated[str, Field(min_length=2, max_length=15)]
    params: list[Annotated[str, Field(max_length=1024)]] = Field(default_factory=list, max_length=20)


class CampaignMessage(Strict):
    text: Annotated[str, Field(min_length=1, max_length=4096)]
    per_channel: dict[str, Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        default_factory=dict, description="the text for one channel (`sms`, `whatsapp`, `messenger`, `email`)"
    )
    subject: Annotated[str | None, Field(max_length=200, description="the e-mail subject")] = None
    whatsapp_template: WhatsAppTemplate | None = Field(
        default=None, description="sent instead of the text outside WhatsApp's 24-hour window"
    )

    @field_validator("per_channel")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(SEND_CHANNELS))
        if unknown:
            raise ValueError(f"unknown channels {unknown}: one of {', '.join(SEND_CHANNELS)}")
        return v


class Audience(Strict):
    customer_ids: Annotated[list[str], Field(min_length=1, max_length=100_000)]


class QuietHours(Strict):
    start: Annotated[str, Field(pattern=CLOCK, description="`HH:MM` in the customer's time zone")]
    end: Annotated[str, Field(pattern=CLOCK)]


class CampaignIn(Strict):
    id: Annotated[str, Field(pattern=CAMPAIGN_ID)]
    purpose: Annotated[str, Field(pattern=PURPOSE_PATTERN, description="consent purpose: `notifications`…")]
    message: CampaignMessage
    audience: Audience
    channel: str = Field(
        default="preferred",
        description="`preferred` (the customer's preferred channel) or one way for everyone"
        " (`sms`, `whatsapp`, `messenger`, `email`)",
    )
    fallback: list[str] = Field(default_factory=list, max_length=4)
    quiet_hours: QuietHours | None = None
    rate_per_second: Annotated[float, Field(gt=0, le=1000)] = 10.0
    start_at: datetime | None = None
    reply_queue: Annotated[str | None, Field(min_length=1, max_length=100)] = None

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        if v != "preferred" and v not in SEND_CHANNELS:
            raise ValueError(f"`preferred` or one of {', '.join(SEND_CHANNELS)}")
        return v

    @field_validator("fallback")
    @classmethod
    def _fallback(cls, v: list[str]) -> list[str]:
        unknown = [c for c in v if c not in SEND_CHANNELS]
        if unknown:
            raise ValueError(f"unknown channels {unknown}: one of {', '.join(SEND_CHANNELS)}")
        return v

    @field_validator("start_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("give a time zone offset")
        return v


class CampaignOut(BaseModel):
    id: str
    purpose: str
    status: CampaignStatus
    message: CampaignMessage
    channel: str
    fallback: list[str]
    quiet_hours: QuietHours | None
    rate_per_second: float
    start_at: datetime | None
    reply_queue: str | None
    audience_size: int
    counts: dict[str, int] = Field(
        description="recipients by outcome: " + ", ".join(f"`{o}`" for o in OUTCOMES)
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RecipientOut(BaseModel):
    customer_id: str
    status: Outcome
    channel: str | None = Field(description="the way the message went (or was to go)")
    detail: str | None
    deferred_until: datetime | None = Field(description="when quiet hours deferred it: when they end")
    sent_at: datetime | None
    replied_at: datetime | None
    interaction_id: str | None = Field(description="the interaction that holds the message")
    message_id: str | None
    reply_interaction_id: str | None


class RecipientsOut(BaseModel):
    campaign_id: str
    recipients: list[RecipientOut]
