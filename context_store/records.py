"""Typed records: what the store's functions return, one frozen dataclass per row shape.

Each record's fields are exactly the columns of the queries that produce it (same names, same order),
so a row becomes a record with ``Record(**row)``; ``tests/store`` holds every query's columns equal to
its record's fields against the migrated schema. JSON columns stay JSON data (``dict`` / ``list``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

JSONObject = dict[str, Any]

R = TypeVar("R")


def from_row(cls: type[R], row: asyncpg.Record) -> R:
    """One row as a record of ``cls`` (the row's columns are the record's fields)."""
    return cls(**row)


def from_row_or_none(cls: type[R], row: asyncpg.Record | None) -> R | None:
    return None if row is None else cls(**row)


def field_names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


# ---------------------------------------------------------------- customers


@dataclass(frozen=True, slots=True)
class Customer:
    id: uuid.UUID
    name: str | None
    email: str | None
    phone: str | None
    anonymous: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PossibleMatch:
    """Another customer that a contact's unverified facts pointed at, and the kinds of key that matched."""

    customer_id: uuid.UUID
    name: str | None
    matched: list[str]


@dataclass(frozen=True, slots=True)
class Merge:
    """One merge of two customers: ``other_customer_id``'s rows were moved to ``customer_id``; who did it,
    when, why and what matched; and its undoing, once undone."""

    id: uuid.UUID
    customer_id: uuid.UUID
    other_customer_id: uuid.UUID
    reason: str
    matched: list[str]
    merged_by: str
    merged_at: datetime
    unmerged_by: str | None
    unmerged_at: datetime | None


@dataclass(frozen=True, slots=True)
class HeldWork:
    """An interaction an agent holds now."""

    id: uuid.UUID
    agent_id: str


@dataclass(frozen=True, slots=True)
class Identity:
    """A resolution key of a customer: ``kind`` is normalized (``phone`` in E.164, ``email``…)."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class JourneyEvent:
    id: uuid.UUID
    type: str
    data: JSONObject
    interaction_id: uuid.UUID | None
    at: datetime


@dataclass(frozen=True, slots=True)
class OfferedInteraction:
    """An interaction as the context record holds it: JSON text to splice into a frame as it is, with
    the two facts an offer's reason names."""

    text: str
    queue: str
    channel: str


@dataclass(frozen=True, slots=True)
class OfferContext:
    """The context record of an offered interaction's customer as JSON text, and that interaction
    (None when it is older than the record's window)."""

    record_text: str
    interaction: OfferedInteraction | None
    held: tuple[tuple[str, str, str], ...] = ()
    """The customer's interactions an agent holds now (assigned or in wrap-up), within the record's
    window: (interaction id, agent id, channel) each."""


@dataclass(frozen=True, slots=True)
class Conversation:
    id: uuid.UUID
    customer_id: uuid.UUID


# ---------------------------------------------------------------- interactions


@dataclass(frozen=True, slots=True)
class Interaction:
    id: uuid.UUID
    customer_id: uuid.UUID
    conversation_id: uuid.UUID
    parent_id: uuid.UUID | None
    channel: str
    external_id: str
    from_kind: str | None
    from_value: str | None
    queue: str
    status: str
    priority: int
    attributes: JSONObject
    subject: str | None
    agent_id: str | None
    disposition: str | None
    summary: str | None
    end_reason: str | None
    created_at: datetime
    enqueued_at: datetime
    venq_ms: int
    """virtual enqueue time (unix milliseconds), kept through requeues and transfers"""
    assigned_at: datetime | None
    wrapup_until: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Message:
    id: uuid.UUID
    interaction_id: uuid.UUID
    direction: str
    body: str
    agent_id: str | None
    external_id: str | None
    status: str | None
    attachments: list[JSONObject]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Note:
    id: uuid.UUID
    interaction_id: uuid.UUID | None
    agent_id: str | None
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InteractionDetail:
    """An interaction with its messages and notes, oldest first."""

    interaction: Interaction
    messages: tuple[Message, ...]
    notes: tuple[Note, ...]


@dataclass(frozen=True, slots=True)
class OpenInteraction:
    """An interaction not ended, as the live index is rebuilt and repaired from it."""

    id: uuid.UUID
    queue_id: str
    channel: str
    status: str
    priority: int
    venq_ms: int
    agent_id: str | None
    customer_id: uuid.UUID
    created_ms: float
    wrapup_until: float | None
    """unix seconds"""
    changed_ms: float | None
    """unix milliseconds of the newest status change"""
    avoid_agents: list[str]
    exclusions: dict[str, float]
    """agent -> unix ms: reject cooldowns still running"""


@dataclass(frozen=True, slots=True)
class Closed:
    """The outcome of closing an interaction: its id and the status it ended in."""

    id: uuid.UUID
    status: str


@dataclass(frozen=True, slots=True)
class QueueDayCounts:
    queue_id: str
    answered: int
    answered_in_sl: int
    abandoned: int


@dataclass(frozen=True, slots=True)
class ChannelServiceCounts:
    """A channel's contacts today, for its service level (the blending rules' ``service_level_under``)."""

    answered_in_sl: int
    answered: int
    abandoned: int
    waiting_late: int

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold over answered, abandoned and waiting past it; None: none yet."""
        total = self.answered + self.abandoned + self.waiting_late
        return self.answered_in_sl / total if total else None


@dataclass(frozen=True, slots=True)
class QueueDayMetrics:
    queue_id: str
    arrived: int
    answered: int
    abandoned: int
    asa_seconds: float | None


# ---------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a provider message id was stored."""

    id: uuid.UUID
    interaction_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """A message whose delivery status just changed."""

    id: uuid.UUID
    interaction_id: uuid.UUID
    status: str
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class ThreadRef:
    """A provider id of a conversation's message (e-mail References)."""

    external_id: str
    direction: str


# ---------------------------------------------------------------- routing configuration


@dataclass(frozen=True, slots=True)
class QueueRecord:
    id: str
    name: str | None
    skills: dict[str, int]
    channels: list[str]
    priority: int
    offer_timeout_seconds: float
    wrapup_seconds: float
    service_level_seconds: float
    dispositions: list[str]
    strategy: str = "longest_idle"
    steps: list[dict[str, Any]] = field(default_factory=list)
    """[{"after_seconds": float, "skills": {skill: level}}] in order"""
    reject_cooldown_seconds: float = 30
    last_agent_seconds: float = 0
    survey: JSONObject | None = None
    """{"kind": "csat" | "nps" | "ces", "channel": "same"}, or None: no survey"""
    callback: JSONObject = field(default_factory=dict)
    """{"retry_seconds", "attempts", "offer_after_seconds"}: the queue's callback settings (none: defaults)"""
    wait_rules: JSONObject = field(default_factory=dict)
    """hours, closed_action, closed_queue, overflow, max_waiting, overflow_queue, questions (docs/waiting.md);
    the defaults are left out"""


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: str
    name: str
    skills: dict[str, int]
    capacity: dict[str, int]
    voice_blocks_other_channels: bool
    address: str | None
    groups: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RuleRecord:
    position: int
    when: JSONObject
    queue_id: str


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token that may be used now (neither revoked nor expired)."""

    id: uuid.UUID
    role: str
    agent_id: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known of a token, never its secret nor its hash. ``source``: ``api`` or ``file``."""

    id: uuid.UUID
    role: str
    agent_id: str | None
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    source: str


# ---------------------------------------------------------------- quality and supervision


@dataclass(frozen=True, slots=True)
class QualityForm:
    """A review form of a routing domain: ``questions`` is the list the router validated (each with
    ``id``, ``text``, ``weight``, ``scale``, ``critical``)."""

    id: str
    name: str | None
    questions: list[Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class QualityReview:
    """One scored review of an interaction, with the form as it was scored."""

    id: uuid.UUID
    interaction_id: uuid.UUID
    form_id: str
    form: JSONObject
    reviewer_role: str
    reviewer_id: str | None
    agent_id: str | None
    queue_id: str
    answers: JSONObject
    score: float
    critical_failed: bool
    comment: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QualityReportRow:
    """Reviews of one agent or one queue over a range: count, mean score, critical failures."""

    key: str | None
    reviews: int
    average_score: float
    min_score: float
    max_score: float
    critical_failures: int


@dataclass(frozen=True, slots=True)
class SampledInteraction:
    """A completed interaction drawn for review, and how many reviews it already has."""

    interaction_id: uuid.UUID
    agent_id: str
    customer_id: uuid.UUID
    channel: str
    queue_id: str
    ended_at: datetime
    reviews: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A supervisor's action in an interaction: who (role and token or agent id), what, when."""

    id: int
    interaction_id: uuid.UUID
    action: str
    actor_role: str
    actor_id: str | None
    detail: JSONObject
    at: datetime


# ---------------------------------------------------------------- webhooks


@dataclass(frozen=True, slots=True)
class Webhook:
    """A webhook as listed: never its secret."""

    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    id: uuid.UUID
    events: list[str]


@dataclass(frozen=True, slots=True)
class DeliveryClaim:
    """A delivery leased to this process: what to send, where, and the secret to sign it with."""

    seq: int
    webhook_id: uuid.UUID
    generation: int
    event_id: str
    type: str
    body: str
    attempts: int
    url: str
    secret: str

    def __repr__(self) -> str:  # the secret never reaches a log line
        return f"DeliveryClaim(seq={self.seq}, webhook_id={self.webhook_id}, event_id={self.event_id!r})"


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    event_id: str
    type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


# ---------------------------------------------------------------- consent


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One change of a customer's consent on a channel for a purpose; ``actor`` says who made it."""

    id: int
    customer_id: uuid.UUID
    channel: str
    purpose: str
    status: str
    source: str
    evidence: JSONObject | None
    actor: str
    created_at: datetime


# ---------------------------------------------------------------- personal data


@dataclass(frozen=True, slots=True)
class Erasure:
    """One erasure of a customer's personal data: when, who asked (never a secret), how many rows of each
    kind were erased."""

    id: uuid.UUID
    customer_id: uuid.UUID
    erased_by: str
    erased_at: datetime
    counts: JSONObject


@dataclass(frozen=True, slots=True)
class RoutingDecisionRecord:
    """One routing decision of an interaction (``routing_decisions``)."""

    id: int
    interaction_id: uuid.UUID
    kind: str
    agent_id: str | None
    detail: dict[str, Any]
    at: datetime


# ---------------------------------------------------------------- presence history


@dataclass(frozen=True, slots=True)
class StateChange:
    """One change of an agent's presence: the state and its not-ready reason (``""`` when none)."""

    state: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LiveRow:
    """An interaction of one status with its customer's name and the time since it was assigned."""

    id: uuid.UUID
    channel: str
    queue_id: str
    status: str
    agent_id: str | None
    customer_id: uuid.UUID
    customer_name: str | None
    from_value: str | None
    subject: str | None
    created_at: datetime
    assigned_at: datetime | None
    seconds_in_work: float | None


@dataclass(frozen=True, slots=True)
class StateTotal:
    state: str
    reason: str
    seconds: float


# ---------------------------------------------------------------- reports and surveys


@dataclass(frozen=True, slots=True)
class KpiCounts:
    """Counts and sums of one interval and key, from which the KPIs are computed (docs/reports.md)."""

    interval_start: datetime
    key: str
    offered: int
    answered: int
    abandoned: int
    answered_in_sl: int
    wait_seconds: float | None
    handled: int
    handle_seconds: float | None
    transferred: int
    resolved: int
    resolved_first: int
    resolution_seconds: float | None
    csat_answers: int
    csat_satisfied: int
    nps_answers: int
    nps_promoters: int
    nps_detractors: int
    ces_answers: int
    ces_total: int


@dataclass(frozen=True, slots=True)
class AgentBusy:
    """Seconds an agent held work inside one interval, and seconds it was available holding none."""

    interval_start: datetime
    key: str
    busy_seconds: float
    idle_seconds: float


@dataclass(frozen=True, slots=True)
class Survey:
    """A customer's answer to the survey about one interaction."""

    interaction_id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    score: int
    comment: str | None
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class SurveyRequest:
    """A survey sent after an interaction, on ``channel``; open until answered or superseded."""

    interaction_id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    channel: str
    sent_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ArrivalCount:
    """Contacts that arrived in one queue in one local interval (starting at ``interval_start``)."""

    interval_start: datetime
    arrivals: int


@dataclass(frozen=True, slots=True)
class HandlingTotals:
    """One queue's handle times, waits and abandons over a range: the inputs of its staffing."""

    service_level_seconds: float
    handled: int
    handle_seconds: float | None
    abandoned: int
    abandon_wait_seconds: float | None
    answer_wait_seconds: float | None


# ---------------------------------------------------------------- callbacks (migration 0015)


@dataclass(frozen=True, slots=True)
class Callback:
    """A waiting interaction whose customer asked to be called back, keeping its place."""

    interaction_id: uuid.UUID
    number: str
    """E.164"""
    not_before: datetime | None
    attempts: int
    """calls placed so far"""
    last_outcome: str | None
    """connected | no_answer | busy | failed"""
    held_until: datetime | None
    """not offered before then (not_before, or the next retry)"""
    requested_at: datetime


# ---------------------------------------------------------------- preferences and campaigns


@dataclass(frozen=True, slots=True)
class CustomerPreferences:
    customer_id: uuid.UUID
    preferred_channel: str | None
    timezone: str | None
    language: str | None
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    id: str
    namespace: str
    purpose: str
    spec: JSONObject
    rate_per_second: float
    start_at: datetime | None
    status: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """A campaign's recipient with its outcome (``status``: a sent message's receipts show through)."""

    campaign_id: str
    customer_id: uuid.UUID
    position: int
    status: str
    channel: str | None
    detail: str | None
    deferred_until: datetime | None
    sent_at: datetime | None
    replied_at: datetime | None
    interaction_id: uuid.UUID | None
    message_id: uuid.UUID | None
    reply_interaction_id: uuid.UUID | None
    message_status: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """The campaign message a customer's new contact answers."""

    campaign_id: str
    reply_queue: str | None
    interaction_id: uuid.UUID | None
    body: str
