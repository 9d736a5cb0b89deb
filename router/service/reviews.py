"""Quality reviews: a review's answers checked against its form and scored; the ranges the report and
the review sample read.

The score of a review is a percentage of the best possible answers, weighted::

    score = 100 * Σ (weightᵢ * answerᵢ / scaleᵢ) / Σ weightᵢ      (rounded to two decimals)

over every question of the form, except that a review where any ``critical`` question is answered 0
scores 0 (``critical_failed``): a contact that broke a must-have (a wrong identity check, a promise the
business cannot keep) is a failed contact however polite the rest was. A form of two questions, weights 3
and 1, scales 5 and 4, answered 4 and 2, scores 100 * (3 * 4/5 + 1 * 2/4) / 4 = 72.5."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from router.contracts import Question
from router.errors import BadRequest


@dataclass(frozen=True, slots=True)
class Score:
    score: float
    critical_failed: bool


def score(questions: list[Question], answers: dict[str, int]) -> Score:
    """The answers scored against the form's questions; :class:`BadRequest` (each failing answer named in
    ``errors``) when a question is unanswered, an answer names no question, or exceeds its scale."""
    errors: list[dict[str, Any]] = []
    by_id = {q.id: q for q in questions}
    for qid in answers:
        if qid not in by_id:
            errors.append({"loc": ["answers", qid], "msg": "the form has no such question"})
    for q in questions:
        if q.id not in answers:
            errors.append({"loc": ["answers", q.id], "msg": "every question of the form must be answered"})
        elif answers[q.id] > q.scale:
            errors.append({"loc": ["answers", q.id], "msg": f"answers are 0..{q.scale} for this question"})
    if errors:
        raise BadRequest("the answers do not fit the form", errors=errors)
    if any(q.critical and answers[q.id] == 0 for q in questions):
        return Score(0.0, True)
    total = sum(q.weight for q in questions)
    earned = sum(q.weight * answers[q.id] / q.scale for q in questions)
    return Score(round(100 * earned / total, 2), False)


def parse_instant(name: str, value: str) -> datetime:
    """A report bound from a query string: an ISO 8601 date (midnight UTC) or date and time (UTC when
    it names no offset)."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(
            f"{name} is not an ISO 8601 date or time",
            errors=[{"loc": ["query", name], "msg": "an ISO 8601 date or date-time"}],
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def week_range(week: str) -> tuple[datetime, datetime]:
    """An ISO week (``2026-W48``) as the range [Monday 00:00 UTC, next Monday 00:00 UTC)."""
    try:
        if not re.fullmatch(r"\d{4}-W\d{2}", week):
            raise ValueError(week)
        year, _, num = week.partition("-W")
        start = datetime.combine(date.fromisocalendar(int(year), int(num), 1), time(), UTC)
    except ValueError as exc:
        raise BadRequest(
            "week is not an ISO week",
            errors=[{"loc": ["query", "week"], "msg": "an ISO week such as 2026-W48"}],
        ) from exc
    return start, start + timedelta(days=7)


def iso_week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"
