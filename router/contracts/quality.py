"""Wire contracts of quality programs and supervision: review forms, reviews, the quality report, the
review sample, the audit of supervisors' actions and the list of live interactions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from router.contracts.channels import Channel
from router.contracts.wire import Ident, Strict

MAX_SCALE = 10


class Question(Strict):
    """One question of a form. It is answered with a whole number from 0 (worst) to ``scale`` (best);
    a ``critical`` question answered 0 fails the whole review (score 0)."""

    id: Ident
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    weight: Annotated[
        float, Field(gt=0, le=100, description="its share of the score, relative to the others")
    ]
    scale: Annotated[int, Field(ge=1, le=MAX_SCALE, description="the best answer; answers are 0..scale")]
    critical: bool = False


class QualityFormIn(Strict):
    name: Annotated[str | None, Field(max_length=200)] = None
    questions: Annotated[list[Question], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _unique_ids(self) -> QualityFormIn:
        ids = [q.id for q in self.questions]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"question ids must be unique; repeated: {', '.join(dup)}")
        return self


class QualityFormOut(BaseModel):
    id: str
    name: str | None
    questions: list[Question]
    created_at: datetime
    updated_at: datetime


class ReviewIn(Strict):
    form_id: Ident
    answers: dict[Ident, Annotated[int, Field(ge=0, le=MAX_SCALE)]] = Field(
        description="question id → answer (0..the question's scale); every question of the form is answered"
    )
    comment: Annotated[str | None, Field(max_length=10_000)] = None


class ReviewOut(BaseModel):
    id: str
    interaction_id: str
    form_id: str
    reviewer_role: str
    reviewer_id: str | None = Field(
        description="the reviewer's token id (or agent id); none for the admin token"
    )
    agent_id: str | None = Field(description="the agent who handled the interaction")
    queue: str
    answers: dict[str, int]
    score: float = Field(
        description="0-100, two decimals: weighted answers; 0 when a critical question failed"
    )
    critical_failed: bool
    comment: str | None = None
    created_at: datetime


class QualityReportRow(BaseModel):
    key: str | None = Field(description="the agent id or the queue id")
    reviews: int
    average_score: float
    min_score: float
    max_score: float
    critical_failures: int


class QualityReport(BaseModel):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    group_by: Literal["agent", "queue"]
    rows: list[QualityReportRow]

    model_config = {"populate_by_name": True}


class SampledInteraction(BaseModel):
    interaction_id: str
    agent_id: str
    customer_id: str
    channel: Channel
    queue: str
    ended_at: datetime
    reviews: int = Field(description="reviews the interaction has already")


class QualitySample(BaseModel):
    week: str = Field(description="ISO week, e.g. 2026-W48")
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    per_agent: int
    interactions: list[SampledInteraction]

    model_config = {"populate_by_name": True}


class AuditEntryOut(BaseModel):
    id: int
    interaction_id: str
    action: Literal["watch", "unwatch", "whisper", "barge", "take_over", "review"]
    actor_role: str
    actor_id: str | None
    detail: dict[str, Any]
    at: datetime


class LiveInteraction(BaseModel):
    """A live interaction as the wallboard lists it (``GET /v1/interactions?status=assigned``)."""

    id: str
    channel: Channel
    queue: str
    status: str
    agent_id: str | None
    agent_name: str | None = None
    customer_id: str
    customer_name: str | None
    from_value: str | None = Field(description="the customer's address on the channel")
    subject: str | None = None
    created_at: datetime
    assigned_at: datetime | None
    seconds_in_work: float | None = Field(description="since the agent took it")
