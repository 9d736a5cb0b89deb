"""Wire models of the journey before a first contact and of personal data on request (export, erasure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from router.contracts.wire import (
    CustomerOut,
    IdentityIn,
    IdentityOut,
    InteractionOut,
    JourneyEventIn,
    JourneyEventOut,
    MessageOut,
    NoteOut,
)


class IdentityJourneyEventIn(JourneyEventIn):
    """A journey event for whoever owns an identity, known or not yet (a web visitor's id)."""

    identity: IdentityIn = Field(
        description="the address the event is about, normalized as a contact's own address is; a"
        " withheld or impossible one is refused"
    )


class JourneyEventRecorded(BaseModel):
    customer_id: str = Field(description="the customer of the identity (created when it was not known)")
    event: JourneyEventOut


class ExportedCustomer(CustomerOut):
    updated_at: datetime
    erased_at: datetime | None = Field(default=None, description="when the personal data was erased")


class ExportedMessage(MessageOut):
    redacted_at: datetime | None = Field(
        default=None, description="when the body and attachments were blanked (erasure or retention)"
    )


class ExportedNote(NoteOut):
    redacted_at: datetime | None = None


class HistoryEntry(BaseModel):
    id: int
    interaction_id: str
    status: str
    agent_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    at: datetime


class ExportedPossibleMatch(BaseModel):
    """Another customer a contact of this one pointed at: named by id only (their name is their data)."""

    customer_id: str
    matched: str
    created_at: datetime


class ErasureOut(BaseModel):
    id: str
    customer_id: str
    erased_by: str = Field(description="the role and token id that asked; never a secret")
    erased_at: datetime
    counts: dict[str, int] = Field(description="rows erased of each kind")


class ErasureInfo(BaseModel):
    id: str
    erased_by: str
    erased_at: datetime
    counts: dict[str, int]


class ExportedMerge(BaseModel):
    id: str
    customer_id: str = Field(description="the customer kept")
    other_customer_id: str = Field(description="the customer merged into it")
    reason: str
    matched: list[str]
    merged_by: str
    merged_at: datetime
    unmerged_by: str | None = None
    unmerged_at: datetime | None = None


class ExportedSurvey(BaseModel):
    interaction_id: str
    kind: str
    score: int
    comment: str | None = None
    answered_at: datetime


class ExportedSurveyRequest(BaseModel):
    interaction_id: str
    kind: str
    channel: str
    sent_at: datetime
    closed_at: datetime | None = None


class ExportedConsent(BaseModel):
    id: int
    channel: str
    purpose: str
    status: str
    source: str | None = None
    evidence: Any = None
    actor: str | None = None
    created_at: datetime


class ExportedPreferences(BaseModel):
    preferred_channel: str | None = None
    timezone: str | None = None
    language: str | None = None
    updated_by: str
    updated_at: datetime


class ExportedCampaignRecipient(BaseModel):
    campaign_id: str
    status: str
    channel: str | None = None
    detail: str | None = None
    deferred_until: datetime | None = None
    sent_at: datetime | None = None
    replied_at: datetime | None = None
    interaction_id: str | None = None
    reply_interaction_id: str | None = None


class ExportedCallback(BaseModel):
    interaction_id: str
    number: str
    not_before: datetime | None = None
    attempts: int
    last_outcome: str | None = None
    requested_at: datetime


class CustomerExport(BaseModel):
    """Everything stored about one customer."""

    customer: ExportedCustomer
    identities: list[IdentityOut]
    interactions: list[InteractionOut] = Field(description="oldest first, without messages and notes")
    history: list[HistoryEntry] = Field(description="the status history of those interactions")
    messages: list[ExportedMessage] = Field(description="every message of those interactions, oldest first")
    notes: list[ExportedNote]
    journey: list[JourneyEventOut] = Field(description="journey events, oldest first")
    possible_matches: list[ExportedPossibleMatch]
    merges: list[ExportedMerge] = Field(description="merges into or of this customer, oldest first")
    surveys: list[ExportedSurvey] = Field(description="the customer's survey answers")
    survey_requests: list[ExportedSurveyRequest] = Field(description="the surveys sent to the customer")
    consent: list[ExportedConsent] = Field(description="the consent ledger, oldest first")
    preferences: ExportedPreferences | None = Field(description="contact preferences, when any were set")
    campaigns: list[ExportedCampaignRecipient] = Field(description="the campaigns sent to the customer")
    callbacks: list[ExportedCallback] = Field(description="callbacks the customer asked for")
    erasures: list[ErasureInfo]
