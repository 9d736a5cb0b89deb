"""The consent ledger against PostgreSQL: appended, the latest change of a channel and purpose in force."""

from __future__ import annotations

import asyncpg
import pytest

from context_store import consent as ledger
from router.contracts.consent import may_contact
from tests.store.conftest import new_customer

pytestmark = pytest.mark.store


async def test_the_latest_change_of_each_channel_and_purpose_is_in_force(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    await ledger.record(pool, cid, "sms", "marketing", "opted_in", "form", {"id": 1}, "admin")
    await ledger.record(pool, cid, "sms", "marketing", "opted_out", "keyword:sms", None, "customer")
    await ledger.record(pool, cid, "email", "marketing", "opted_in", "form", None, "admin")
    await ledger.record(pool, cid, "sms", "notifications", "opted_out", "keyword:sms", None, "customer")
    history = await ledger.history(pool, cid)
    assert [(e.channel, e.purpose, e.status) for e in history] == [
        ("sms", "marketing", "opted_in"),
        ("sms", "marketing", "opted_out"),
        ("email", "marketing", "opted_in"),
        ("sms", "notifications", "opted_out"),
    ]
    assert history[0].evidence == {"id": 1}
    now = {(e.channel, e.purpose): e.status for e in await ledger.current(pool, cid)}
    assert now == {
        ("sms", "marketing"): "opted_out",
        ("email", "marketing"): "opted_in",
        ("sms", "notifications"): "opted_out",
    }
    policy = ["marketing"]
    assert not may_contact(now, "sms", "marketing", policy)
    assert may_contact(now, "email", "marketing", policy)
    assert not may_contact(now, "whatsapp", "marketing", policy)  # needs an opt-in it never gave
    assert may_contact(now, "whatsapp", "notifications", policy)  # allowed unless opted out
    assert not may_contact(now, "sms", "notifications", policy)
    other = await new_customer(pool, "+15550111")
    assert await ledger.current(pool, other) == []


async def test_a_merged_customers_consent_counts_until_the_merge_is_undone(pool: asyncpg.Pool) -> None:
    kept, merged = await new_customer(pool, "+15550121"), await new_customer(pool, "+15550122")
    await ledger.record(pool, kept, "sms", "marketing", "opted_in", "form", None, "admin")
    await ledger.record(pool, merged, "sms", "marketing", "opted_out", "keyword:sms", None, "customer")
    assert [e.status for e in await ledger.current(pool, kept)] == ["opted_in"]
    await pool.execute("UPDATE customers SET merged_into = $1 WHERE id = $2", kept, merged)
    assert [e.status for e in await ledger.current(pool, kept)] == ["opted_out"]  # the later change
    assert len(await ledger.history(pool, kept)) == 2
    await pool.execute("UPDATE customers SET merged_into = NULL WHERE id = $1", merged)
    assert [e.status for e in await ledger.current(pool, kept)] == ["opted_in"]
