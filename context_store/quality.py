"""Quality programs: review forms, scored reviews of interactions, the quality report and the review
sample; and the audit of supervisors' actions in an interaction.

Forms belong to a routing domain; reviews and audit rows belong to an interaction and its domain. Every
function takes the namespace: another domain's rows are neither found nor counted. Scores are computed
by the router (``router.service.quality``); this module stores and reads them."""

from __future__ import annotations

import uuid
from datetime import datetime

from context_store.db import Conn, as_uuid, q
from context_store.records import (
    AuditEntry,
    JSONObject,
    LiveRow,
    QualityForm,
    QualityReportRow,
    QualityReview,
    SampledInteraction,
    from_row,
    from_row_or_none,
)


async def put_form(
    conn: Conn, namespace: str, form_id: str, name: str | None, questions: list[JSONObject]
) -> tuple[QualityForm, bool]:
    """Create or replace a form; the form and whether it was created."""
    row = await conn.fetchrow(q("quality_form_upsert"), namespace, form_id, name, questions)
    assert row is not None
    fields = dict(row)
    created = bool(fields.pop("created"))
    return QualityForm(**fields), created


async def get_form(conn: Conn, namespace: str, form_id: str) -> QualityForm | None:
    return from_row_or_none(QualityForm, await conn.fetchrow(q("quality_form_get"), namespace, form_id))


async def all_forms(conn: Conn, namespace: str) -> list[QualityForm]:
    return [from_row(QualityForm, r) for r in await conn.fetch(q("quality_forms_all"), namespace)]


async def add_review(
    conn: Conn,
    namespace: str,
    *,
    interaction_id: uuid.UUID,
    form_id: str,
    form: JSONObject,
    reviewer_role: str,
    reviewer_id: str | None,
    agent_id: str | None,
    queue_id: str,
    answers: JSONObject,
    score: float,
    critical_failed: bool,
    comment: str | None,
) -> QualityReview:
    """Store a review and its audit row (action ``review``) in one statement."""
    review_id = uuid.uuid4()
    row = await conn.fetchrow(
        q("quality_review_insert"),
        review_id,
        namespace,
        interaction_id,
        form_id,
        form,
        reviewer_role,
        reviewer_id,
        agent_id,
        queue_id,
        answers,
        score,
        critical_failed,
        comment,
        {"review_id": str(review_id), "form_id": form_id, "score": score},
    )
    return from_row(QualityReview, row)


async def reviews_of_interaction(
    conn: Conn, namespace: str, interaction_id: uuid.UUID | str
) -> list[QualityReview]:
    rows = await conn.fetch(q("quality_reviews_of_interaction"), namespace, as_uuid(interaction_id))
    return [from_row(QualityReview, r) for r in rows]


async def reviews_of_agent(
    conn: Conn, namespace: str, agent_id: str, limit: int = 200
) -> list[QualityReview]:
    """The agent's reviews, newest first."""
    rows = await conn.fetch(q("quality_reviews_of_agent"), namespace, agent_id, limit)
    return [from_row(QualityReview, r) for r in rows]


async def report(
    conn: Conn, namespace: str, start: datetime, end: datetime, group_by: str
) -> list[QualityReportRow]:
    """Reviews made in ``[start, end)``, per agent or per queue (``group_by``)."""
    assert group_by in ("agent", "queue")
    rows = await conn.fetch(q("quality_report"), namespace, start, end, group_by)
    return [from_row(QualityReportRow, r) for r in rows]


async def sample(
    conn: Conn, namespace: str, start: datetime, end: datetime, per_agent: int
) -> list[SampledInteraction]:
    """At most ``per_agent`` completed interactions per agent, drawn at random among those ended in
    ``[start, end)``."""
    rows = await conn.fetch(q("quality_sample"), namespace, start, end, per_agent)
    return [from_row(SampledInteraction, r) for r in rows]


async def audit(
    conn: Conn,
    namespace: str,
    interaction_id: uuid.UUID | str,
    action: str,
    actor_role: str,
    actor_id: str | None,
    detail: JSONObject | None = None,
) -> AuditEntry:
    row = await conn.fetchrow(
        q("audit_insert"), namespace, as_uuid(interaction_id), action, actor_role, actor_id, detail or {}
    )
    return from_row(AuditEntry, row)


async def audit_of_interaction(
    conn: Conn, namespace: str, interaction_id: uuid.UUID | str
) -> list[AuditEntry]:
    rows = await conn.fetch(q("audit_of_interaction"), namespace, as_uuid(interaction_id))
    return [from_row(AuditEntry, r) for r in rows]


async def in_status(conn: Conn, namespace: str, status: str, limit: int = 500) -> list[LiveRow]:
    """The domain's interactions in this status with their customers' names, longest in work first."""
    return [
        from_row(LiveRow, r) for r in await conn.fetch(q("interactions_in_status"), namespace, status, limit)
    ]
