"""Webhooks: the HTTP bodies of ``/v1/webhooks`` and the table that names each stream event kind as a
dotted webhook type. That table is the one home of the webhook types: the fan-out reads it, the docs list
it (``docs/webhooks.md``), and a test holds the two equal."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from router.contracts.wire import Strict

# stream event kind (router/routing/lua/*.lua, router/routing/events.py) → webhook type; kinds that are
# not here (configuration reloads, token revocations) are the router's own business and are not sent
WEBHOOK_TYPES: dict[str, str] = {
    "enqueued": "interaction.queued",
    "requeued": "interaction.requeued",
    "assigned": "interaction.assigned",
    "wrapup_started": "interaction.wrapup_started",
    "wrapup_undone": "interaction.wrapup_undone",
    "work_ended": "interaction.work_ended",
    "abandoned": "interaction.abandoned",
    "customer_left": "interaction.customer_left",
    "callback_requested": "interaction.callback_requested",
    "callback_released": "interaction.callback_released",
    "callback_dialed": "interaction.callback_dialed",
    "callback_result": "interaction.callback_result",
    "callback_cancelled": "interaction.callback_cancelled",
    "step_changed": "interaction.step_changed",
    "preference_expired": "interaction.preference_expired",
    "transferred": "interaction.transferred",
    "transfer_failed": "interaction.transfer_failed",
    "overflowed": "interaction.overflowed",
    "offer": "offer.made",
    "offer_revoked": "offer.revoked",
    "message": "message.created",
    "message_status": "message.status",
    "note": "note.created",
    "agent": "agent.state",
    "agent_state": "agent.presence",
    "grace_expired": "agent.grace_expired",
    "consent_changed": "consent.changed",
    "customer_merged": "customer.merged",
    "customer_unmerged": "customer.unmerged",
    "blending_started": "blending.started",
    "blending_ended": "blending.ended",
    "campaign_running": "campaign.started",
    "campaign_paused": "campaign.paused",
    "campaign_cancelled": "campaign.cancelled",
    "campaign_completed": "campaign.completed",
    "campaign_recipient": "campaign.recipient",
}

# the stream's event kinds that stay inside the router
# (`context_changed` tells the desktops holding work of a merged customer to redraw its context; a
# `whisper` is coaching between a supervisor and an agent, kept in the interaction's audit)
INTERNAL_KINDS = frozenset(
    {"config", "token_revoked", "context_changed", "whisper", "collision", "taken_over"}
)

# `*`, a family (`interaction.*`) or one type (`offer.made`); a family with no type yet (`survey.*`)
# matches nothing until its events exist
EVENT_PATTERN = r"^(\*|[a-z][a-z_]{0,31}\.(\*|[a-z][a-z_]{0,63}))$"
EVENT_ID_PATTERN = r"^\d{1,20}-\d{1,20}$"
DELIVERY_STATUSES = ("pending", "delivered", "failed")


def matches(patterns: list[str], webhook_type: str) -> bool:
    """Whether a webhook subscribed to ``patterns`` gets events of ``webhook_type``."""
    family = webhook_type.partition(".")[0]
    return any(p in ("*", webhook_type, f"{family}.*") for p in patterns)


def parse_event_id(event_id: str) -> tuple[int, int]:
    """A stream event id (``<ms>-<seq>``) as a pair that sorts as the stream does."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


class WebhookIn(Strict):
    url: Annotated[
        str, Field(min_length=8, max_length=2000, description="http(s) URL the events are posted to")
    ]
    events: Annotated[
        list[Annotated[str, Field(pattern=EVENT_PATTERN)]],
        Field(
            min_length=1, max_length=50, description="`*`, families (`interaction.*`) or types (`offer.made`)"
        ),
    ]
    secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="the HMAC-SHA256 key deliveries are signed with; none: one is made and shown once",
    )
    description: Annotated[str | None, Field(max_length=200)] = None

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not re.match(r"^https?://", v, re.IGNORECASE):
            raise ValueError("the URL must be http:// or https://")
        return v


class WebhookOut(BaseModel):
    """A webhook as listed: never its secret."""

    id: str
    url: str
    events: list[str]
    description: str | None = None
    created_at: datetime


class WebhookCreated(WebhookOut):
    """A new webhook: ``secret`` is shown this once (the one given, or the one made)."""

    secret: str


class DeliveryOut(BaseModel):
    event_id: str
    type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="when a pending delivery is tried next")
    last_status: int | None = Field(description="the receiver's HTTP status at the last attempt")
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None


class ReplayIn(Strict):
    after: Annotated[str, Field(pattern=EVENT_ID_PATTERN, description="an event id (`<ms>-<seq>`)")]


class ReplayOut(BaseModel):
    replayed: int = Field(description="how many deliveries were queued again")


class WebhookEvent(BaseModel):
    """What a delivery's body holds (signed: see ``docs/webhooks.md``)."""

    id: str = Field(description="the event id (`<ms>-<seq>`), in stream order; replays resend it unchanged")
    type: str = Field(description="the dotted webhook type (`interaction.queued`, `offer.made`…)")
    at: datetime = Field(description="when the event happened")
    data: dict[str, Any]
