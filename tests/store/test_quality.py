"""Quality forms, reviews and the audit per routing domain: the same form id in two domains is two forms,
and a domain's reviews, report, sample and audit never show another domain's work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from context_store import interactions, quality
from context_store.records import Interaction
from tests.store.conftest import new_customer, new_interaction

EU, US = "eu", "us"
QUESTIONS = [{"id": "q", "text": "t", "weight": 1.0, "scale": 5, "critical": False}]


async def completed(pool: asyncpg.Pool, namespace: str, agent_id: str, external_id: str) -> Interaction:
    customer = await new_customer(pool, "+15550111")
    it = await new_interaction(pool, customer, namespace=namespace, external_id=external_id)
    assert await interactions.assign(pool, namespace, it.id, agent_id)
    assert await interactions.close(pool, namespace, it.id, "completed") is not None
    return it


async def test_forms_reviews_report_sample_and_audit_are_per_domain(pool: asyncpg.Pool) -> None:
    eu_form, created = await quality.put_form(pool, EU, "standard", "EU", QUESTIONS)
    assert created
    _, created = await quality.put_form(pool, US, "standard", "US", [{**QUESTIONS[0], "scale": 2}])
    assert created
    again, created = await quality.put_form(pool, EU, "standard", "EU v2", QUESTIONS)
    assert not created and again.created_at == eu_form.created_at and again.name == "EU v2"
    assert [f.name for f in await quality.all_forms(pool, EU)] == ["EU v2"]
    us_form = await quality.get_form(pool, US, "standard")
    assert us_form is not None and us_form.questions[0]["scale"] == 2

    eu_it = await completed(pool, EU, "alice", "same-call")
    us_it = await completed(pool, US, "alice", "same-call")
    for ns, it, score in ((EU, eu_it, 80.0), (US, us_it, 20.0)):
        await quality.add_review(
            pool,
            ns,
            interaction_id=it.id,
            form_id="standard",
            form={"id": "standard"},
            reviewer_role="supervisor",
            reviewer_id="tok",
            agent_id="alice",
            queue_id="support",
            answers={"q": 4},
            score=score,
            critical_failed=False,
            comment=None,
        )
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    (eu_row,) = await quality.report(pool, EU, now - hour, now + hour, "agent")
    assert (eu_row.key, eu_row.reviews, eu_row.average_score) == ("alice", 1, 80.0)
    (us_row,) = await quality.report(pool, US, now - hour, now + hour, "queue")
    assert (us_row.key, us_row.average_score) == ("support", 20.0)
    assert await quality.reviews_of_interaction(pool, US, eu_it.id) == []
    assert [r.score for r in await quality.reviews_of_agent(pool, EU, "alice")] == [80.0]

    (drawn,) = await quality.sample(pool, EU, now - hour, now + hour, 5)
    assert drawn.interaction_id == eu_it.id and drawn.reviews == 1

    assert [a.action for a in await quality.audit_of_interaction(pool, EU, eu_it.id)] == ["review"]
    assert await quality.audit_of_interaction(pool, US, eu_it.id) == []
