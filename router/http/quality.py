"""HTTP handlers of quality programs and supervision: review forms, reviews, the quality report, the
review sample and the audit of supervisors' actions. ``router.http.api.API`` takes them in; the route
table (``router.http.routes``) names them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import asyncpg
import structlog
from aiohttp import web

from context_store import interactions, quality
from context_store.db import parse_uuid
from context_store.records import AuditEntry, Interaction, QualityForm, QualityReview
from router.backends import POOL, REPORTS_POOL
from router.contracts import (
    ID_PATTERN,
    AuditEntryOut,
    Channel,
    InteractionStatus,
    LiveInteraction,
    QualityFormIn,
    QualityFormOut,
    QualityReport,
    QualityReportRow,
    QualitySample,
    Question,
    ReviewIn,
    ReviewOut,
    Role,
    SampledInteraction,
)
from router.errors import BadRequest, Conflict, Forbidden, NotFound
from router.http.common import body, ok
from router.routing.directory import DIRECTORY
from router.routing.engine import ENGINE
from router.service import auth, reviews
from router.service.auth import TOKENS, Principal

log = structlog.get_logger("router.http.quality")

MAX_PER_AGENT = 50
LISTED_STATUSES = ("queued", "assigned", "wrapup")


def actor_id(principal: Principal) -> str | None:
    """Who acted, as the audit records it: an agent token's agent, another stored token's id; None for
    the admin token of the settings (it is not stored)."""
    return principal.agent_id if principal.role == Role.agent else principal.token_id


def form_out(f: QualityForm) -> QualityFormOut:
    return QualityFormOut(
        id=f.id,
        name=f.name,
        questions=[Question.model_validate(q) for q in f.questions],
        created_at=f.created_at,
        updated_at=f.updated_at,
    )


def review_out(r: QualityReview) -> ReviewOut:
    return ReviewOut(
        id=str(r.id),
        interaction_id=str(r.interaction_id),
        form_id=r.form_id,
        reviewer_role=r.reviewer_role,
        reviewer_id=r.reviewer_id,
        agent_id=r.agent_id,
        queue=r.queue_id,
        answers={k: int(v) for k, v in r.answers.items()},
        score=r.score,
        critical_failed=r.critical_failed,
        comment=r.comment,
        created_at=r.created_at,
    )


def audit_out(a: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut.model_validate(
        {
            "id": a.id,
            "interaction_id": str(a.interaction_id),
            "action": a.action,
            "actor_role": a.actor_role,
            "actor_id": a.actor_id,
            "detail": a.detail,
            "at": a.at,
        }
    )


class QualityHandlers:
    """The quality and audit routes; mixed into ``API``, whose ``app`` holds the services."""

    app: web.Application

    async def _principal(self, request: web.Request, *roles: Role) -> Principal:
        principal = await auth.authenticate(request, self.app[TOKENS], *roles)
        structlog.contextvars.bind_contextvars(role=principal.role.value)
        return principal

    @property
    def _db(self) -> asyncpg.Pool:
        return self.app[POOL]

    @property
    def _reports_db(self) -> asyncpg.Pool:
        return self.app[REPORTS_POOL]

    @property
    def _namespace(self) -> str:
        return self.app[ENGINE].namespace

    async def _interaction(self, request: web.Request) -> Interaction:
        iid = parse_uuid(request.match_info["id"])
        it = await interactions.get(self._db, self._namespace, iid) if iid else None
        if it is None:
            raise NotFound(f"interaction {request.match_info['id']} not found")
        return it

    # ------------------------------------------------------------ forms

    async def put_quality_form(self, request: web.Request) -> web.Response:
        await self._principal(request, Role.admin)
        form_id = request.match_info["id"]
        if not re.match(ID_PATTERN, form_id):
            raise BadRequest(
                "ids are letters, digits, _ . - (at most 64)", errors=[{"loc": ["id"], "msg": "invalid id"}]
            )
        form = await body(request, QualityFormIn)
        stored, created = await quality.put_form(
            self._db,
            self._namespace,
            form_id,
            form.name,
            [q.model_dump(mode="json") for q in form.questions],
        )
        log.info("quality.form_put", form_id=form_id, created=created)
        return ok(form_out(stored), 201 if created else 200)

    async def list_quality_forms(self, request: web.Request) -> web.Response:
        await self._principal(request, Role.supervisor)
        return ok([form_out(f) for f in await quality.all_forms(self._db, self._namespace)])

    async def get_quality_form(self, request: web.Request) -> web.Response:
        await self._principal(request, Role.supervisor)
        form = await quality.get_form(self._db, self._namespace, request.match_info["id"])
        if form is None:
            raise NotFound(f"quality form {request.match_info['id']} not found")
        return ok(form_out(form))

    # ------------------------------------------------------------ reviews

    async def post_review(self, request: web.Request) -> web.Response:
        principal = await self._principal(request, Role.supervisor)
        review = await body(request, ReviewIn)
        it = await self._interaction(request)
        if it.status != InteractionStatus.completed:
            raise Conflict(
                f"only completed interactions are reviewed; this one is {it.status}",
                errors=[{"loc": ["id"], "msg": f"status is {it.status}"}],
            )
        form = await quality.get_form(self._db, self._namespace, review.form_id)
        if form is None:
            raise BadRequest(
                f"no quality form {review.form_id!r}", errors=[{"loc": ["form_id"], "msg": "unknown form"}]
            )
        questions = [Question.model_validate(q) for q in form.questions]
        result = reviews.score(questions, review.answers)
        stored = await quality.add_review(
            self._db,
            self._namespace,
            interaction_id=it.id,
            form_id=form.id,
            form={"id": form.id, "name": form.name, "questions": form.questions},
            reviewer_role=principal.role.value,
            reviewer_id=actor_id(principal),
            agent_id=it.agent_id,
            queue_id=it.queue,
            answers=dict(review.answers),
            score=result.score,
            critical_failed=result.critical_failed,
            comment=review.comment,
        )
        log.info(
            "quality.review",
            interaction_id=str(it.id),
            form_id=form.id,
            score=result.score,
            agent_id=it.agent_id,
        )
        return ok(review_out(stored), 201)

    async def list_reviews(self, request: web.Request) -> web.Response:
        principal = await self._principal(request, Role.supervisor, Role.agent)
        it = await self._interaction(request)
        if principal.role == Role.agent and it.agent_id != principal.agent_id:
            raise Forbidden("an agent reads the reviews of its own work only")
        return ok(
            [review_out(r) for r in await quality.reviews_of_interaction(self._db, self._namespace, it.id)]
        )

    async def list_agent_reviews(self, request: web.Request) -> web.Response:
        principal = await self._principal(request, Role.supervisor, Role.agent)
        agent_id = request.match_info["id"]
        if principal.role == Role.agent and principal.agent_id != agent_id:
            raise Forbidden("an agent reads the reviews of its own work only")
        return ok(
            [review_out(r) for r in await quality.reviews_of_agent(self._db, self._namespace, agent_id)]
        )

    # ------------------------------------------------------------ report and sample

    async def quality_report(self, request: web.Request) -> web.Response:
        await self._principal(request, Role.supervisor)
        group_by = request.query.get("group_by", "agent")
        if group_by not in ("agent", "queue"):
            raise BadRequest(
                "group_by is agent or queue", errors=[{"loc": ["query", "group_by"], "msg": "agent or queue"}]
            )
        missing = [n for n in ("from", "to") if not request.query.get(n)]
        if missing:
            raise BadRequest(
                f"give {' and '.join(missing)}",
                errors=[{"loc": ["query", n], "msg": "required"} for n in missing],
            )
        start = reviews.parse_instant("from", request.query["from"])
        end = reviews.parse_instant("to", request.query["to"])
        if end <= start:
            raise BadRequest("to must be after from", errors=[{"loc": ["query", "to"], "msg": "after from"}])
        rows = await quality.report(self._reports_db, self._namespace, start, end, group_by)
        return ok(
            QualityReport(
                start=start,
                end=end,
                group_by="agent" if group_by == "agent" else "queue",
                rows=[
                    QualityReportRow(
                        key=r.key,
                        reviews=r.reviews,
                        average_score=round(r.average_score, 2),
                        min_score=r.min_score,
                        max_score=r.max_score,
                        critical_failures=r.critical_failures,
                    )
                    for r in rows
                ],
            )
        )

    async def quality_sample(self, request: web.Request) -> web.Response:
        await self._principal(request, Role.supervisor)
        week = request.query.get("week", reviews.iso_week(datetime.now(UTC)))
        start, end = reviews.week_range(week)
        raw = request.query.get("per_agent", "5")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PER_AGENT:
            raise BadRequest(
                f"per_agent is a whole number from 1 to {MAX_PER_AGENT}",
                errors=[{"loc": ["query", "per_agent"], "msg": f"1..{MAX_PER_AGENT}"}],
            )
        drawn = await quality.sample(self._reports_db, self._namespace, start, end, int(raw))
        return ok(
            QualitySample(
                week=week,
                start=start,
                end=end,
                per_agent=int(raw),
                interactions=[
                    SampledInteraction(
                        interaction_id=str(s.interaction_id),
                        agent_id=s.agent_id,
                        customer_id=str(s.customer_id),
                        channel=Channel[s.channel],
                        queue=s.queue_id,
                        ended_at=s.ended_at,
                        reviews=s.reviews,
                    )
                    for s in drawn
                ],
            )
        )

    # ------------------------------------------------------------ live interactions

    async def live_interactions(self, request: web.Request, principal: Principal) -> web.Response:
        """``GET /v1/interactions?status=assigned``: the wallboard's list of live work (supervisors and
        admins; the route's other use, a lookup by provider id, is an adapter's too)."""
        if principal.role not in (Role.supervisor, Role.admin):
            raise Forbidden("only supervisors and admins list interactions by status")
        status = request.query["status"]
        mixed = [n for n in ("channel", "external_id") if n in request.query]
        if mixed:
            raise BadRequest(
                "give status, or channel and external_id, not both",
                errors=[{"loc": ["query", n], "msg": "not with status"} for n in mixed],
            )
        if status not in LISTED_STATUSES:
            raise BadRequest(
                f"status is one of {', '.join(LISTED_STATUSES)}",
                errors=[{"loc": ["query", "status"], "msg": "queued, assigned or wrapup"}],
            )
        agents = self.app[DIRECTORY].agents
        rows = await quality.in_status(self._db, self._namespace, status)
        return ok(
            [
                LiveInteraction(
                    id=str(r.id),
                    channel=Channel[r.channel],
                    queue=r.queue_id,
                    status=r.status,
                    agent_id=r.agent_id,
                    agent_name=agents[r.agent_id].name if r.agent_id in agents else None,
                    customer_id=str(r.customer_id),
                    customer_name=r.customer_name,
                    from_value=r.from_value,
                    subject=r.subject,
                    created_at=r.created_at,
                    assigned_at=r.assigned_at,
                    seconds_in_work=round(r.seconds_in_work, 3) if r.seconds_in_work is not None else None,
                )
                for r in rows
            ]
        )

    # ------------------------------------------------------------ audit

    async def list_audit(self, request: web.Request) -> web.Response:
        await self._principal(request, Role.supervisor)
        it = await self._interaction(request)
        return ok(
            [audit_out(a) for a in await quality.audit_of_interaction(self._db, self._namespace, it.id)]
        )
