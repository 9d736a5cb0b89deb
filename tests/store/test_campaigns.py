"""Campaign recipients against PostgreSQL: claims skip rows another transaction holds, a claim that is
rolled back leaves the row as it was, interrupted sends are closed (sent only when handed over), and the
outcomes show the messages' receipts."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from context_store import campaigns as store
from context_store import messages, privacy
from tests.store.conftest import NS, new_customer, new_interaction

pytestmark = pytest.mark.store

SPEC = {"message": {"text": "hi"}, "channel": "preferred", "fallback": ["sms"], "quiet_hours": None}


async def new_campaign(pool: asyncpg.Pool, campaign_id: str, customers: list[uuid.UUID]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        made = await store.create(conn, campaign_id, NS, "notifications", SPEC, 5.0, None, "admin", customers)
    assert made is not None and made.status == "draft"
    assert await store.set_status(pool, campaign_id, NS, "running", ["draft"]) is not None


async def test_concurrent_claims_take_different_recipients_and_a_rollback_frees_its_row(
    pool: asyncpg.Pool,
) -> None:
    people = [await new_customer(pool, f"+1415555{n:04d}") for n in range(3)]
    await new_campaign(pool, "c1", [people[2], people[0], people[1], people[0], uuid.uuid4()])
    assert await store.counts(pool, "c1") == {"queued": 3}  # repeats and unknown customers left out
    async with pool.acquire() as a, pool.acquire() as b:
        ta, tb = a.transaction(), b.transaction()
        await ta.start()
        await tb.start()
        first = await store.claim(a, "c1")
        second = await store.claim(b, "c1")
        assert first is not None and second is not None
        assert first[0] == people[2] and second[0] == people[0]  # audience order, the held row skipped
        await store.decide(b, "c1", second[0], "skipped_no_consent", "sms", "no consent on sms")
        await tb.commit()
        await ta.rollback()  # as a process killed before its commit: the row is as it was
    assert await store.counts(pool, "c1") == {"queued": 2, "skipped_no_consent": 1}
    async with pool.acquire() as c, c.transaction():
        again = await store.claim(c, "c1")
    assert again is not None and again[0] == people[2]


async def test_interrupted_sends_are_closed_sent_only_when_handed_over(pool: asyncpg.Pool) -> None:
    handed, lost = await new_customer(pool, "+14155550001"), await new_customer(pool, "+14155550002")
    await new_campaign(pool, "c2", [handed, lost])
    for customer, status in ((handed, "queued"), (lost, "pending")):
        it = await new_interaction(pool, customer, channel="sms")
        msg = await messages.insert(
            pool,
            interaction_id=it.id,
            conversation_id=it.conversation_id,
            channel="sms",
            direction="outbound",
            body="hi",
            status=status,
        )
        assert msg is not None
        await store.sending(pool, "c2", customer, "sms", it.id, msg.id, "node-gone")
    assert await store.close_interrupted(pool, "c2", 3600) == []  # the lease has not run out
    assert await store.counts(pool, "c2") == {"queued": 2}  # `sending` reads as queued
    closed = dict(await store.close_interrupted(pool, "c2", 0))
    assert closed == {handed: "sent", lost: "failed"}
    rows = {r.customer_id: r for r in await store.recipients(pool, "c2", None, 10, 0)}
    assert rows[lost].detail is not None and "not sent again" in rows[lost].detail
    assert rows[handed].sent_at is not None
    assert await store.left(pool, "c2") == 0
    # a receipt shows through the recipient's outcome
    assert rows[handed].message_id is not None
    await messages.set_status(pool, rows[handed].message_id, "delivered", None)
    assert await store.counts(pool, "c2") == {"delivered": 1, "failed": 1}
    assert [r.customer_id for r in await store.recipients(pool, "c2", "delivered", 10, 0)] == [handed]


async def test_preferences_change_only_what_is_named_and_an_erasure_drops_them(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    assert await store.preferences(pool, cid) is None
    await store.set_preferences(pool, cid, {"preferred_channel": "sms", "language": "ko"}, "supervisor:t1")
    changed = await store.set_preferences(pool, cid, {"timezone": "Asia/Seoul"}, "admin")
    assert (changed.preferred_channel, changed.timezone, changed.language) == ("sms", "Asia/Seoul", "ko")
    assert changed.updated_by == "admin"
    cleared = await store.set_preferences(pool, cid, {"language": None}, "admin")
    assert (cleared.preferred_channel, cleared.timezone, cleared.language) == ("sms", "Asia/Seoul", None)
    erased = await privacy.erase(pool, cid, "admin:t1")
    assert erased is not None and erased.erasure.counts["preferences"] == 1
    assert await store.preferences(pool, cid) is None
