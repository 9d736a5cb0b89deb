"""Wire models of the customer's wait: a queue's business hours, its overflow rules and the questions
asked while waiting (``QueueConfig`` in ``wire`` takes them), and the body of ``PATCH
/v1/interactions/{id}`` (what a bot collected while the customer waited). ``docs/waiting.md`` describes
their semantics."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from router.contracts.reports import is_timezone
from router.contracts.text import refuse_unstorable

ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
_QueueId = Annotated[str, Field(pattern=ID_PATTERN)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")

ClosedAction = Literal["reject", "overflow", "wait"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return refuse_unstorable(value)


def clock_seconds(clock: str) -> int:
    """A time of day ``HH:MM`` or ``HH:MM:SS`` (``24:00``: the end of the day) in seconds after midnight."""
    if clock in ("24:00", "24:00:00"):
        return 24 * 3600
    if not _CLOCK.match(clock):
        raise ValueError(f"{clock!r} is not a time of day HH:MM or HH:MM:SS (00:00 to 24:00)")
    return int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + (int(clock[6:8]) if len(clock) > 5 else 0)


class BusinessHours(_Strict):
    """When a queue is open, in its own time zone: weekly windows of local wall-clock time, and holidays
    (local dates, closed all day)."""

    timezone: str = Field(description="the IANA time zone the windows are read in", examples=["Asia/Seoul"])
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[tuple[str, str]]] = Field(
        default_factory=dict,
        description='per weekday, open windows ["HH:MM", "HH:MM"] of local time (or HH:MM:SS); the end may be'
        ' "24:00";'
        " a day that is not listed is closed",
        examples=[{"mon": [["09:00", "18:00"]], "sat": [["10:00", "14:00"]]}],
    )
    holidays: Annotated[list[date], Field(max_length=1000)] = Field(
        default_factory=list, description="local dates on which the queue is closed all day"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if not is_timezone(v):
            raise ValueError(f"{v!r} is not an IANA time zone")
        return v

    @field_validator("weekly")
    @classmethod
    def _windows(cls, v: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, windows in v.items():
            if len(windows) > 24:
                raise ValueError(f"{day}: at most 24 windows a day")
            for start, end in windows:
                if clock_seconds(start) >= clock_seconds(end):
                    raise ValueError(f"{day}: the window {start}-{end} must end after it starts")
        return v


class OverflowRule(_Strict):
    """Once an interaction has waited ``after_seconds`` (from its virtual enqueue time), it moves to
    ``queue``, keeping its place (virtual enqueue time) and context."""

    after_seconds: Annotated[float, Field(gt=0, le=86_400)]
    queue: _QueueId


class WaitQuestion(_Strict):
    """A question the web chat asks while the customer waits; the answer becomes the attribute ``id``."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$", examples=["intent"])]
    text: Annotated[str, Field(min_length=1, max_length=500, examples=["What is it about?"])]


class WaitRules(_Strict):
    """The keys of a queue's configuration about the customer's wait (``QueueConfig`` takes them)."""

    hours: BusinessHours | None = Field(default=None, description="business hours; none: always open")
    closed_action: ClosedAction = Field(
        default="reject",
        description="what an arrival finds while the queue is closed: reject (answered `closed` with"
        " `opens_at`, nothing queued), overflow (queued in `closed_queue`), wait (queued, offered once the"
        " queue opens)",
    )
    closed_queue: _QueueId | None = Field(default=None, description="where closed_action overflow queues")
    overflow: Annotated[list[OverflowRule], Field(max_length=20)] = Field(
        default_factory=list, description="timed moves of waiting interactions to other queues"
    )
    max_waiting: Annotated[int | None, Field(ge=0, le=1_000_000)] = Field(
        default=None,
        description="arrivals beyond this many waiting go to `overflow_queue`, or are refused (503"
        " `queue_full`) when it is not set; none: no limit",
    )
    overflow_queue: _QueueId | None = Field(default=None, description="where arrivals beyond max_waiting go")
    questions: Annotated[list[WaitQuestion], Field(max_length=20)] = Field(
        default_factory=list, description="what the web chat asks while the customer waits"
    )

    @field_validator("overflow")
    @classmethod
    def _in_order(cls, v: list[OverflowRule]) -> list[OverflowRule]:
        times = [r.after_seconds for r in v]
        if times != sorted(times) or len(set(times)) != len(times):
            raise ValueError("overflow rules must have increasing after_seconds")
        return v

    @field_validator("questions")
    @classmethod
    def _distinct_questions(cls, v: list[WaitQuestion]) -> list[WaitQuestion]:
        if len({q.id for q in v}) != len(v):
            raise ValueError("question ids must be distinct")
        return v

    @model_validator(mode="after")
    def _closed_queue_named(self) -> WaitRules:
        if self.closed_action == "overflow" and self.closed_queue is None:
            raise ValueError("closed_action overflow needs closed_queue")
        return self

    def wait_rules(self) -> WaitRules:
        """Only these keys (a ``QueueConfig`` is a ``WaitRules`` too)."""
        return WaitRules.model_validate(self.model_dump(include=set(WaitRules.model_fields)))

    def targets(self) -> set[str]:
        """The queues these rules move interactions to."""
        named = {self.closed_queue, self.overflow_queue, *(r.queue for r in self.overflow)}
        return {q for q in named if q is not None}


class QueueHours(BaseModel):
    """A queue's business hours now (``GET /v1/queues/{id}``); all null when it has no hours."""

    open: bool | None = Field(default=None, description="open now; null: no business hours (always open)")
    opens_at: datetime | None = Field(
        default=None, description="the next opening (after the current window when open now)"
    )
    closes_at: datetime | None = Field(
        default=None, description="the end of the current window (of the next one when closed now)"
    )


class InteractionPatch(_Strict):
    """What a bot collected while the customer waited: attributes merged into the interaction's, and
    optionally another queue, where it keeps its place (virtual enqueue time)."""

    attributes: Annotated[dict[str, Any], Field(max_length=100)] = Field(
        default_factory=dict, description="merged into the interaction's attributes (a key given replaces)"
    )
    queue: _QueueId | None = Field(default=None, description="move it to this queue, keeping its place")

    @model_validator(mode="after")
    def _something(self) -> InteractionPatch:
        if not self.attributes and self.queue is None:
            raise ValueError("give attributes, a queue, or both")
        return self
