"""Wire contracts of the HTTP API and the event stream.

Every body that crosses a process boundary is one of these pydantic models; the OpenAPI
document at ``/v1/openapi.json`` is generated from them. Adapters depend on this module
(and only on this module) of the router.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from router.contracts.channels import DEFAULT_CAPACITY, Channel
from router.contracts.identities import is_region
from router.contracts.text import CustomerText, refuse_unstorable
from router.contracts.waiting import QueueHours, WaitRules

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
Ident = Annotated[str, Field(pattern=ID_PATTERN, description="letters, digits, _ . - (max 64)")]
SkillLevel = Annotated[int, Field(ge=1, le=10)]


class Role(StrEnum):
    admin = "admin"
    adapter = "adapter"
    agent = "agent"
    supervisor = "supervisor"


class InteractionStatus(StrEnum):
    queued = "queued"  # waiting in a queue (or offered: offers are live state only)
    assigned = "assigned"
    wrapup = "wrapup"
    completed = "completed"
    abandoned = "abandoned"
    transferred = "transferred"
    ended = "ended"  # customer left after an agent took it, before completion
    closed = "closed"  # arrived while its queue was closed (closed_action reject): recorded, not queued


OPEN_STATUSES = (InteractionStatus.queued, InteractionStatus.assigned, InteractionStatus.wrapup)


class AgentState(StrEnum):
    available = "available"
    away = "away"
    offline = "offline"


class Strict(BaseModel):
    """Every model the router receives: unknown fields are refused, and so is a NUL or a lone surrogate
    in any string (at any depth of a free-form object), except in :data:`CustomerText`, which is stored
    without them (``router.contracts.text``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return refuse_unstorable(value)


# ---------------------------------------------------------------- identities


class IdentityIn(Strict):
    kind: Annotated[str, Field(pattern=r"^[a-z_]{2,32}$", examples=["phone", "email", "whatsapp"])]
    value: Annotated[str, Field(min_length=1, max_length=320)]


class CustomerHints(Strict):
    name: Annotated[CustomerText | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    phone: Annotated[str | None, Field(max_length=40)] = None
    verified: bool = Field(
        default=False,
        description="the sender checked these facts (an IVR or bot that matched an OTP or account PIN):"
        " only verified hints link the contact to an existing customer or change a stored profile",
    )


# ---------------------------------------------------------------- ingest


class InboundEvent(Strict):
    """The normalized inbound event every channel adapter posts to ``POST /v1/interactions``."""

    channel: Channel
    external_id: Annotated[str, Field(min_length=1, max_length=200, description="the provider's id")]
    from_: Annotated[IdentityIn, Field(alias="from")]
    customer: CustomerHints | None = None
    region: Annotated[str | None, Field(pattern=r"^[A-Za-z]{2}$", examples=["US", "GB"])] = Field(
        default=None,
        description="the region (ISO 3166 alpha-2) national-format numbers of this event are read in;"
        " default: the deployment's [identity] default_region",
    )
    conversation_id: str | None = None
    queue: Ident | None = None
    priority: Annotated[int | None, Field(ge=0, le=100)] = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    content: Annotated[CustomerText | None, Field(max_length=100_000)] = None
    subject: Annotated[CustomerText | None, Field(max_length=1000)] = None
    attachments: list[Attachment] = Field(default_factory=list)
    message_external_id: Annotated[str | None, Field(max_length=300)] = Field(
        default=None, description="the provider's id of the first message (e-mail Message-ID, wamid)"
    )
    thread_refs: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list,
        description="provider ids of earlier messages this one answers (In-Reply-To, References):"
        " the interaction joins that conversation",
    )
    join_open: bool | None = Field(
        default=None,
        description="append to the customer's open interaction on this channel instead of opening a"
        " new one (default: true for chat, social, sms and email; false for voice)",
    )
    preferred_agents: Annotated[list[Ident], Field(max_length=20)] = Field(
        default_factory=list,
        description="offer it only to these agents while one of them is connected and available, for the"
        " queue's last_agent_seconds (30 s when that is 0)",
    )
    avoid_agents: Annotated[list[Ident], Field(max_length=100)] = Field(
        default_factory=list, description="never offer it to these agents"
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, v: str | None) -> str | None:
        if v is not None and not is_region(v):
            raise ValueError(f"{v!r} is not a region phone numbers are known for")
        return v.upper() if v else v

    @field_validator("attributes")
    @classmethod
    def _small_attributes(cls, v: dict[str, Any]) -> dict[str, Any]:
        if len(v) > 100:
            raise ValueError("at most 100 attributes")
        return v


class Attachment(Strict):
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    url: str | None = None


InboundEvent.model_rebuild()


WaitRange = Annotated[list[float], Field(min_length=2, max_length=2)]


class IngestResult(BaseModel):
    id: str
    customer_id: str
    conversation_id: str
    status: InteractionStatus
    queue: str
    position: int | None
    estimated_wait_seconds: float | None
    created: bool = True
    estimated_wait_range: WaitRange | None = Field(
        default=None, description="10th and 90th percentile of the wait, seconds (null: unknown)"
    )
    opens_at: datetime | None = Field(
        default=None, description="status closed: when the queue opens next (null: no opening is planned)"
    )


class MessageIn(Strict):
    direction: Literal["inbound", "outbound"] = "inbound"
    body: Annotated[CustomerText, Field(max_length=100_000)] = ""
    external_id: Annotated[str | None, Field(max_length=200)] = None
    attachments: list[Attachment] = Field(default_factory=list)
    agent_id: str | None = None


class MessageStatusIn(Strict):
    external_id: Annotated[str | None, Field(min_length=1, max_length=300)] = None
    status: Literal["queued", "retrying", "sent", "delivered", "read", "failed"]
    detail: str | None = None


class EndIn(Strict):
    reason: Annotated[str, Field(max_length=200)] = "customer_left"


class JourneyEventIn(Strict):
    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.\-]{0,63}$", examples=["page_view"])]
    data: dict[str, Any] = Field(default_factory=dict)
    at: datetime | None = Field(
        default=None,
        description="when it happened (default: now); not before 1970, read as UTC without an offset",
    )

    @field_validator("at", mode="after")
    @classmethod
    def _plausible_time(cls, value: datetime | None) -> datetime | None:
        # PostgreSQL stores any year, but the driver reads the first instant of year 1 back as a naive
        # "-infinity"; a journey is recorded from 1970 on
        if value is None:
            return None
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if aware < datetime(1970, 1, 1, tzinfo=UTC):
            raise ValueError("must not be before 1970")
        return aware


# ---------------------------------------------------------------- read models


class MessageOut(BaseModel):
    id: str
    interaction_id: str
    direction: str
    body: str
    agent_id: str | None = None
    external_id: str | None = None
    status: str | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime


class NoteOut(BaseModel):
    id: str
    interaction_id: str | None
    agent_id: str | None
    body: str
    created_at: datetime


class ReviewSummary(BaseModel):
    """A quality review as the interaction and the context record show it (the whole review, answers
    included, is ``GET /v1/interactions/{id}/reviews``)."""

    id: str
    form_id: str
    score: float = Field(description="0-100: weighted answers; 0 when a critical question failed")
    critical_failed: bool
    created_at: datetime


class InteractionOut(BaseModel):
    id: str
    customer_id: str
    conversation_id: str
    parent_id: str | None = None
    channel: Channel
    external_id: str
    queue: str
    status: InteractionStatus
    priority: int
    attributes: dict[str, Any]
    subject: str | None = None
    agent_id: str | None = None
    disposition: str | None = None
    summary: str | None = None
    end_reason: str | None = None
    created_at: datetime
    enqueued_at: datetime
    assigned_at: datetime | None = None
    ended_at: datetime | None = None
    from_kind: str | None = None
    from_value: str | None = None
    messages: list[MessageOut] = Field(default_factory=list)
    notes: list[NoteOut] = Field(default_factory=list)
    reviews: list[ReviewSummary] = Field(
        default_factory=list, description="quality reviews of the interaction, oldest first"
    )
    position: int | None = Field(default=None, description="live: 1-based place in the queue while waiting")
    estimated_wait_seconds: float | None = None
    estimated_wait_range: WaitRange | None = Field(
        default=None, description="live: 10th and 90th percentile of the wait, seconds (null: unknown)"
    )
    agent_address: str | None = Field(default=None, description="live: the assigned agent's voice address")
    live_id: str | None = Field(
        default=None, description="for a transferred interaction: the open interaction that continues it"
    )
    survey: SurveyOut | None = Field(default=None, description="the customer's answer to its survey")


class IdentityOut(BaseModel):
    kind: str
    value: str
    created_at: datetime


class CustomerOut(BaseModel):
    id: str
    name: str | None
    email: str | None
    phone: str | None
    anonymous: bool = Field(
        default=False, description="first reached with a withheld caller id: linked by no number"
    )
    created_at: datetime
    merged_into: str | None = Field(
        default=None, description="merged into this customer: its history is there (until an unmerge)"
    )


class PossibleMatch(BaseModel):
    """Another customer an unverified hint (or a second key of one contact) pointed at: shown so an agent
    can verify the person, without any of that customer's history."""

    customer_id: str
    name: str | None
    matched: list[str] = Field(description="the kinds of key that matched, e.g. phone, email")


class JourneyEventOut(BaseModel):
    id: str
    type: str
    data: dict[str, Any]
    interaction_id: str | None = None
    at: datetime


class MergeOut(BaseModel):
    """One merge: ``other_customer_id``'s identities, interactions, notes and journey were moved to
    ``customer_id``; who did it (``agent:<id>``, ``supervisor:<token id>``, ``admin``…), when, why, the
    kinds of key by which one had been a possible match of the other, and its undoing."""

    id: str
    customer_id: str = Field(description="the customer kept")
    other_customer_id: str = Field(description="the customer merged into it")
    reason: str
    matched: list[str] = Field(description="kinds of key that had named one as the other's possible match")
    merged_by: str
    merged_at: datetime
    unmerged_by: str | None = None
    unmerged_at: datetime | None = Field(default=None, description="set once the merge is undone")


class MergeIn(Strict):
    other_customer_id: uuid.UUID = Field(description="the customer merged into this one")
    reason: Annotated[
        CustomerText, Field(min_length=1, max_length=500, examples=["same person: checked DOB"])
    ]


class UnmergeIn(Strict):
    merge_id: uuid.UUID = Field(description="a merge into this customer (from its context's `merges`)")


class Collision(BaseModel):
    """Another live interaction of the same customer, held by another agent (a chat and an e-mail of one
    person answered by two people at once)."""

    interaction_id: str
    agent_id: str
    channel: str


SUPERVISOR_AUTHOR = "supervisor:"
"""A message a supervisor wrote into a live interaction (``barge``) names its author
``supervisor:<token id>`` (``supervisor:admin`` for the configured admin token) where an agent's reply
names the agent."""


def is_supervisor_author(agent_id: str | None) -> bool:
    return bool(agent_id) and str(agent_id).startswith(SUPERVISOR_AUTHOR)


class ContextRecord(BaseModel):
    """The customer's shared context: everything an agent needs, across every channel."""

    customer: CustomerOut
    identities: list[IdentityOut]
    interactions: list[InteractionOut] = Field(description="newest first, with messages and notes")
    events: list[JourneyEventOut] = Field(description="journey events, newest first")
    possible_matches: list[PossibleMatch] = Field(
        default_factory=list,
        description="customers that unverified facts of this customer's contacts named; not linked",
    )
    merges: list[MergeOut] = Field(
        default_factory=list,
        description="merges this customer took part in, kept or merged away, oldest first",
    )
    collisions: list[Collision] = Field(
        default_factory=list,
        description="when two agents or more hold live work of this customer at once: each such interaction",
    )


# ---------------------------------------------------------------- surveys


class SurveyKind(StrEnum):
    csat = "csat"  # satisfaction, 1 (very unsatisfied) to 5 (very satisfied)
    nps = "nps"  # likelihood to recommend, 0 to 10
    ces = "ces"  # effort, 1 (very easy) to 7 (very difficult)


SURVEY_SCALES: dict[SurveyKind, tuple[int, int]] = {
    SurveyKind.csat: (1, 5),
    SurveyKind.nps: (0, 10),
    SurveyKind.ces: (1, 7),
}
"""Lowest and highest score of each kind of survey."""


class SurveyConfig(Strict):
    """A queue's survey: sent after each completed interaction, in the customer's own channel."""

    kind: SurveyKind
    channel: Literal["same"] = Field(
        default="same", description="`same`: the interaction's own channel (a call's survey goes by SMS)"
    )


class SurveyIn(Strict):
    kind: SurveyKind
    score: int = Field(ge=0, le=10, description="CSAT 1 to 5, NPS 0 to 10, CES 1 to 7")
    comment: Annotated[CustomerText | None, Field(max_length=2000)] = None

    @model_validator(mode="after")
    def _on_scale(self) -> SurveyIn:
        low, high = SURVEY_SCALES[self.kind]
        if not low <= self.score <= high:
            raise ValueError(f"a {self.kind.value} score is {low} to {high}")
        return self


class SurveyOut(BaseModel):
    kind: SurveyKind
    score: int
    comment: str | None = None
    answered_at: datetime


# ---------------------------------------------------------------- configuration


Strategy = Literal["longest_idle", "most_skilled", "least_occupied"]


class RoutingStep(Strict):
    """A widening step: once an interaction has waited ``after_seconds`` (from its virtual enqueue
    time), these minimum levels replace the queue's ``skills`` (``{}``: any agent who takes the channel)."""

    after_seconds: Annotated[float, Field(gt=0, le=86_400)]
    skills: dict[Ident, SkillLevel] = Field(default_factory=dict)


class QueueConfig(Strict, WaitRules):
    skills: dict[Ident, SkillLevel] = Field(default_factory=dict)
    channels: list[Channel] = Field(default_factory=lambda: list(Channel), min_length=1)
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    offer_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 20
    wrapup_seconds: Annotated[float, Field(ge=0, le=3600)] = 30
    service_level_seconds: Annotated[float, Field(gt=0, le=3600)] = 20
    name: Annotated[str | None, Field(max_length=200)] = None
    strategy: Strategy = Field(
        default="longest_idle",
        description="who of the agents who fit gets the offer: longest_idle (idle longest), most_skilled"
        " (highest sum of levels in the skills the queue and its steps name, then idle longest),"
        " least_occupied (lowest load across all channels relative to capacity, then idle longest)",
    )
    steps: Annotated[list[RoutingStep], Field(max_length=20)] = Field(default_factory=list)
    reject_cooldown_seconds: Annotated[float, Field(ge=0, le=86_400)] = Field(
        default=30, description="an agent who rejects an interaction is not offered it again for this long"
    )
    last_agent_seconds: Annotated[float, Field(ge=0, le=86_400)] = Field(
        default=0,
        description="prefer the agent who last served the customer (any channel) for this long; 0: off",
    )

    @field_validator("steps")
    @classmethod
    def _steps_in_order(cls, v: list[RoutingStep]) -> list[RoutingStep]:
        times = [s.after_seconds for s in v]
        if times != sorted(times) or len(set(times)) != len(times):
            raise ValueError("steps must have increasing after_seconds")
        return v

    survey: SurveyConfig | None = Field(
        default=None, description="a survey sent after each completed interaction (docs/reports.md)"
    )
    dispositions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list,
        max_length=200,
        description="the disposition codes `complete` takes for this queue's work, in the order the desktop"
        " offers them; empty: any code (or none)",
    )

    @field_validator("dispositions")
    @classmethod
    def _distinct_codes(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("disposition codes must be distinct")
        return v

    # callbacks that keep their place (docs/callbacks.md)
    callback_retry_seconds: Annotated[float, Field(ge=0, le=86_400)] = Field(
        default=300,
        description="a callback call that was not answered (or busy, or failed) waits this long, at its"
        " original place, before it is offered again",
    )
    callback_attempts: Annotated[int, Field(ge=1, le=20)] = Field(
        default=3, description="calls tried for one callback before it ends (end_reason callback_unreachable)"
    )
    callback_offer_after_seconds: Annotated[float | None, Field(ge=0, le=86_400)] = Field(
        default=None,
        description="the voice IVR offers a callback (press 1) to a caller who has waited this long; unset:"
        " never offered by the IVR (the callback endpoint still takes requests)",
    )


class QueueOut(QueueConfig, QueueHours):
    id: str
    stats: QueueStats | None = None


class QueueStats(BaseModel):
    waiting: int
    oldest_wait_seconds: float
    estimated_wait_seconds: float | None
    agents_available: int
    agents_busy: int
    agents_wrapup: int = 0
    offered: int = 0
    answered_today: int = 0
    answered_in_sl_today: int = 0
    abandoned_today: int = 0
    service_level: float | None = None


QueueOut.model_rebuild()
InteractionOut.model_rebuild()
ContextRecord.model_rebuild()


class AgentConfig(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    skills: dict[Ident, SkillLevel] = Field(default_factory=dict)
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=50)]] = Field(default_factory=dict)
    voice_blocks_other_channels: bool = True
    address: Annotated[str | None, Field(max_length=300, description="voice: Twilio client or SIP URI")] = (
        None
    )
    groups: list[Ident] = Field(
        default_factory=list, max_length=50, description="groups a `[[blending]]` rule can name"
    )

    def full_capacity(self) -> dict[str, int]:
        cap = dict(DEFAULT_CAPACITY)
        cap.update({str(k): v for k, v in self.capacity.items()})
        return cap


PassReason = Literal[
    "busy",
    "no_capacity",
    "below_level",
    "excluded",
    "away",
    "not_connected",
    "lower_score",
    "avoided",
    "not_preferred",
]


class PassedOver(BaseModel):
    agent_id: str
    reason: PassReason


class StepInForce(BaseModel):
    index: int = Field(description="0: the queue's own skills; k: its k-th step")
    levels: dict[str, int]


class Why(BaseModel):
    """Why an offer went to this agent (the offer event's and the offer frame's ``why``)."""

    strategy: Strategy
    step: StepInForce
    preference_applied: bool = Field(description="only preferred agents were considered")
    considered: int = Field(description="available agents of the queue's pool looked at")
    score: float = Field(
        description="the chosen agent's score: idle ms (longest_idle), sum of levels (most_skilled),"
        " load relative to capacity (least_occupied, lower wins)"
    )
    passed_over: list[PassedOver] = Field(default_factory=list, description="at most ten, with their reason")
    trigger: Literal["interaction", "agent"] = Field(
        description="interaction: the work was matched against the pool (arrival, requeue, a timer);"
        " agent: an agent became free and took the best work it fits"
    )
    overflow: str | None = Field(
        default=None, description='how it came to this queue: "overflowed from X after N s", "moved from X"'
    )

    @field_validator("passed_over", mode="before")
    @classmethod
    def _empty_list(cls, v: Any) -> Any:
        return [] if v == {} else v  # Lua's cjson writes an empty list as {}


class RoutingDecision(BaseModel):
    at: datetime
    kind: Literal[
        "offered",
        "missed",
        "rejected",
        "revoked",
        "assigned",
        "step_changed",
        "preference_expired",
        "transferred",
        "transfer_failed",
        "requeued",
        "overflowed",
    ]
    agent_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class RoutingJourney(BaseModel):
    interaction_id: str
    decisions: list[RoutingDecision]


class AgentLive(BaseModel):
    state: AgentState
    connected: bool
    state_since: float | None = None
    load: dict[str, int] = Field(default_factory=dict)
    capacity: dict[str, int] = Field(
        default_factory=dict, description="the capacity in force now: a blending rule may have changed it"
    )


class StateTime(BaseModel):
    state: AgentState
    reason: str = Field(description='the not-ready reason ("" when none)')
    seconds: float


class StateChangeOut(BaseModel):
    state: AgentState
    reason: str
    at: datetime


class AgentStatesOut(BaseModel):
    """An agent's presence between two times: the time spent per state and reason, and each change."""

    agent_id: str
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    totals: list[StateTime] = Field(
        description="seconds per state and reason in the range, sorted by state then reason; time before the"
        " agent's first recorded change is not counted, nor time after now"
    )
    changes: list[StateChangeOut] = Field(description="the changes in the range, oldest first (at most 1000)")

    model_config = ConfigDict(populate_by_name=True)


class AgentOut(BaseModel):
    id: str
    name: str
    skills: dict[str, int]
    capacity: dict[str, int]
    voice_blocks_other_channels: bool
    address: str | None = None
    live: AgentLive | None = None
    groups: list[str] = Field(default_factory=list)


class RoutingRule(Strict):
    when: dict[str, Any] = Field(description="attribute equality conditions; 'channel' matches the channel")
    queue: Ident


class RulesIn(Strict):
    rules: list[RoutingRule]


class TokenIn(Strict):
    role: Role
    agent_id: Ident | None = None
    name: Annotated[str | None, Field(max_length=200)] = None
    expires_at: AwareDatetime | None = Field(
        default=None, description="when the token stops working (RFC 3339 with an offset); none: never"
    )

    @field_validator("expires_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("expires_at is out of range") from None


class TokenOut(BaseModel):
    """A new token: the secret (``token``) is shown this once; ``id`` names it from then on."""

    id: str
    token: str
    role: Role
    agent_id: str | None = None
    name: str | None = None
    expires_at: datetime | None = None


class TokenState(StrEnum):
    active = "active"
    expired = "expired"
    revoked = "revoked"


class TokenInfoOut(BaseModel):
    """A stored token as ``GET /v1/tokens`` lists it: never its secret nor its hash. ``source`` is
    ``file`` for the tokens named in the configuration file (revoked at start once removed from it)."""

    id: str
    role: Role
    agent_id: str | None = None
    name: str | None = None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    state: TokenState
    source: Literal["api", "file"]


class MessageStatusOut(BaseModel):
    """The answer to ``POST /v1/messages/{id}/status``: the message's status after the report."""

    id: str
    status: str


class ReceiptsApplied(BaseModel):
    """The answer to ``POST /v1/messages/status``: how many messages the receipt moved forward."""

    updated: int


class Health(BaseModel):
    """``GET /healthz``: ``ok`` when PostgreSQL and Redis answer; ``index`` says whether the live index is
    built or being rebuilt."""

    status: Literal["ok", "unhealthy"]
    checks: dict[str, str]
    node: str = Field(description="the router process that answered (one per worker or host)")


class ChannelInfo(BaseModel):
    """One row of the channel table, as the pages and integrators read it."""

    name: Channel
    label: str
    arrival: str
    default_capacity: int
    exclusive: bool
    text: bool
    capabilities: list[str]
    icon: str

    @classmethod
    def of(cls, channel: Channel) -> ChannelInfo:
        s = channel.spec
        return cls(
            name=channel,
            label=s.label,
            arrival=s.arrival,
            default_capacity=s.default_capacity,
            exclusive=s.exclusive,
            text=s.text,
            capabilities=list(s.capabilities),
            icon=s.icon,
        )


class Meta(BaseModel):
    """``GET /v1/meta``: what every client needs to know of this server before it draws anything."""

    channels: list[ChannelInfo]


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


# ---------------------------------------------------------------- outbound (router → adapter)


class ChannelCapabilities(BaseModel):
    text: bool = True
    media: bool = False
    voice: bool = False
    typing: bool = False
    delivery_receipts: bool = False
    read_receipts: bool = False
    subject: bool = False


class OutboundMessage(BaseModel):
    """An agent's reply, posted by the router to the channel adapter's outbound endpoint."""

    message_id: str
    interaction_id: str
    conversation_id: str
    customer_id: str
    channel: Channel
    to: IdentityIn = Field(description="the customer's identity on this channel, as the adapter gave it")
    body: str
    agent_id: str | None = None
    agent_name: str | None = None
    subject: str | None = None
    in_reply_to: str | None = Field(default=None, description="provider id of the last inbound message")
    references: list[str] = Field(default_factory=list, description="provider ids of the conversation")
    attributes: dict[str, Any] = Field(default_factory=dict, description="the interaction's attributes")


class OutboundAccepted(BaseModel):
    external_id: str | None = None
    status: str = "sent"
