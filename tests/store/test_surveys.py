"""Survey requests and answers against PostgreSQL: the cooldown holds under concurrent completions of
one customer's work, and lapses after its days; the scale is checked by the table as well."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from context_store import surveys
from tests.store.conftest import new_customer, new_interaction


async def test_concurrent_requests_for_one_customer_send_one_survey(pool: asyncpg.Pool) -> None:
    customer = await new_customer(pool)
    its = [await new_interaction(pool, customer) for _ in range(8)]

    async def request(i: int) -> bool:
        async with pool.acquire() as conn, conn.transaction():
            sent = await surveys.request(conn, its[i].id, customer, "csat", "chat", cooldown_days=30)
            await asyncio.sleep(0.01)  # hold the transaction open while the others try
            return sent is not None

    results = await asyncio.gather(*(request(i) for i in range(8)))
    assert results.count(True) == 1
    assert await pool.fetchval("SELECT count(*) FROM survey_requests") == 1


async def test_the_cooldown_lapses_after_its_days_and_is_per_customer(pool: asyncpg.Pool) -> None:
    one, other = await new_customer(pool, "+15550101"), await new_customer(pool, "+15550102")
    a = await new_interaction(pool, one)
    b = await new_interaction(pool, one)
    c = await new_interaction(pool, other)
    async with pool.acquire() as conn, conn.transaction():
        assert await surveys.request(conn, a.id, one, "nps", "sms", cooldown_days=7) is not None
        assert await surveys.request(conn, b.id, one, "nps", "sms", cooldown_days=7) is None
        assert await surveys.request(conn, c.id, other, "nps", "sms", cooldown_days=7) is not None
    await pool.execute("UPDATE survey_requests SET sent_at = now() - interval '6 days 23 hours'")
    async with pool.acquire() as conn, conn.transaction():
        assert await surveys.request(conn, b.id, one, "nps", "sms", cooldown_days=7) is None
    await pool.execute("UPDATE survey_requests SET sent_at = now() - interval '7 days 1 minute'")
    async with pool.acquire() as conn, conn.transaction():
        assert await surveys.request(conn, b.id, one, "nps", "sms", cooldown_days=7) is not None


async def test_the_table_refuses_a_score_off_the_scale(pool: asyncpg.Pool) -> None:
    customer = await new_customer(pool)
    it = await new_interaction(pool, customer)
    with pytest.raises(asyncpg.CheckViolationError):
        await surveys.answer(pool, it.id, customer, "csat", 6, None)
    assert await surveys.answer(pool, it.id, customer, "csat", 5, "great") is not None
    assert await surveys.answer(pool, it.id, customer, "csat", 1, None) is None  # the first answer stands
    stored = await surveys.get(pool, it.id)
    assert stored is not None and (stored.score, stored.comment) == (5, "great")
