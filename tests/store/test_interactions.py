"""Interactions: creation (idempotent on channel + external id under a race), the status lifecycle and
what each step answers, and the reads the live index is rebuilt and repaired from."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from context_store import conversations, interactions, messages, notes, queues
from context_store.db import lock_keys
from context_store.errors import Duplicate
from context_store.records import (
    Closed,
    Interaction,
    InteractionDetail,
    OpenInteraction,
    QueueDayCounts,
    QueueDayMetrics,
    QueueRecord,
)
from tests.store.conftest import NS, new_customer, new_interaction


async def transferred(
    pool: asyncpg.Pool,
    first: Interaction,
    attributes: dict[str, str],
    *,
    channel: str = "chat",
    queue_id: str = "support",
) -> Interaction:
    """A transfer's copy of ``first`` in the same conversation, keeping its place (as Work.transfer
    writes it), addressed to the customer on ``channel``."""
    new_id = uuid.uuid4()
    email = channel == "email"
    return await interactions.insert(
        pool,
        namespace=NS,
        interaction_id=new_id,
        customer_id=first.customer_id,
        conversation_id=first.conversation_id,
        parent_id=first.id,
        channel=channel,
        external_id=f"transfer:{new_id}",
        from_kind="email" if email else "phone",
        from_value="c@example.com" if email else "+15550100",
        queue_id=queue_id,
        priority=first.priority,
        attributes=attributes,
        subject="Re: plan" if email else None,
        venq_ms=first.venq_ms,
    )


async def test_create_returns_the_whole_record_with_its_conversation_history_and_event(
    pool: asyncpg.Pool,
) -> None:
    cid = await new_customer(pool)
    it = await new_interaction(
        pool, cid, channel="voice", external_id="CA1", priority=3, venq_ms=1_700_000_000_000
    )
    assert isinstance(it, Interaction)
    assert (it.customer_id, it.channel, it.external_id, it.queue, it.status, it.priority) == (
        cid,
        "voice",
        "CA1",
        "support",
        "queued",
        3,
    )
    assert it.venq_ms == 1_700_000_000_000
    assert it.enqueued_at == datetime.fromtimestamp(1_700_000_000, UTC)
    assert it.attributes == {"lang": "en"}
    assert it.agent_id is None and it.assigned_at is None and it.ended_at is None
    assert await interactions.get(pool, NS, it.id) == it
    assert await conversations.get(pool, it.conversation_id) is not None
    assert (
        await pool.fetchval("SELECT status FROM interaction_history WHERE interaction_id = $1", it.id)
        == "queued"
    )
    assert await pool.fetchval("SELECT type FROM journey_events WHERE interaction_id = $1", it.id) == (
        "interaction.created"
    )
    assert await interactions.id_by_external(pool, NS, "voice", "CA1") == it.id
    assert await interactions.id_by_external(pool, NS, "chat", "CA1") is None
    assert await interactions.get(pool, NS, uuid.uuid4()) is None


async def test_same_channel_and_external_id_is_refused_as_duplicate(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    await new_interaction(pool, cid, channel="sms", external_id="SM1")
    with pytest.raises(Duplicate):
        await new_interaction(pool, cid, channel="sms", external_id="SM1")
    other = await new_interaction(pool, cid, channel="chat", external_id="SM1")
    assert other.channel == "chat", "the same provider id on another channel is another interaction"
    assert await pool.fetchval("SELECT count(*) FROM interactions") == 2
    assert await pool.fetchval("SELECT count(*) FROM conversations") == 2, "the refused one wrote nothing"


async def test_concurrent_ingests_of_one_event_create_one_interaction(pool: asyncpg.Pool) -> None:
    """Each of eight connections locks the provider id, looks it up and creates it if absent (what
    ingest does): the lock makes the look-up see the first one's commit."""
    cid = await new_customer(pool)

    async def ingest_once() -> tuple[uuid.UUID, bool]:
        async with pool.acquire() as conn, conn.transaction():
            await interactions.lock_external_id(conn, NS, "chat", "evt-1")
            found = await interactions.id_by_external(conn, NS, "chat", "evt-1")
            if found is not None:
                return found, False
            it = await new_interaction(conn, cid, channel="chat", external_id="evt-1")
            await conn.execute("SELECT pg_sleep(0.05)")
            return it.id, True

    results = await asyncio.gather(*(ingest_once() for _ in range(8)))
    assert len({iid for iid, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1


async def test_lifecycle_assign_wrapup_close_and_what_each_step_answers(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    it = await new_interaction(pool, cid)
    assert await interactions.assign(pool, NS, it.id, "a1") is True
    assigned = await interactions.get(pool, NS, it.id)
    assert assigned is not None and (assigned.status, assigned.agent_id) == ("assigned", "a1")
    assert assigned.assigned_at is not None
    assert await interactions.agent_serves_customer(pool, NS, "a1", cid) is True
    assert await interactions.agent_serves_customer(pool, NS, "a2", cid) is False

    assert await interactions.requeue(pool, NS, it.id) is True
    assert await interactions.requeue(pool, NS, it.id) is False, "only assigned work is requeued"
    requeued = await interactions.get(pool, NS, it.id)
    assert requeued is not None and (requeued.status, requeued.agent_id, requeued.venq_ms) == (
        "queued",
        None,
        it.venq_ms,
    )
    assert await interactions.wrapup(pool, NS, it.id, "x", None, None) is False, "waiting work has no wrap-up"

    assert await interactions.assign(pool, NS, it.id, "a1") is True
    until = datetime.now(UTC) + timedelta(seconds=30)
    assert await interactions.wrapup(pool, NS, it.id, "sold", "bought the plan", until) is True
    assert await interactions.wrapup(pool, NS, it.id, None, None, until) is True
    wrapped = await interactions.get(pool, NS, it.id)
    assert wrapped is not None
    assert (wrapped.status, wrapped.disposition, wrapped.summary) == ("wrapup", "sold", "bought the plan")
    assert wrapped.wrapup_until == until and wrapped.ended_at is not None

    assert await interactions.close(pool, NS, it.id, "completed") == Closed(it.id, "completed")
    assert await interactions.close(pool, NS, it.id, "completed") is None, "closing twice changes nothing"
    assert await interactions.assign(pool, NS, it.id, "a2") is False, "ended work is never assigned"
    closed = await interactions.get(pool, NS, it.id)
    assert closed is not None and closed.status == "completed" and closed.wrapup_until is None


async def test_finish_writes_status_history_and_journey_event_or_nothing(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    waiting = await new_interaction(pool, cid)
    data = {"channel": "chat", "agent_id": "a1", "disposition": "sold"}

    async def written(iid: uuid.UUID) -> tuple[list[str], int]:
        history = await pool.fetch(
            "SELECT status FROM interaction_history WHERE interaction_id = $1 ORDER BY id", iid
        )
        events = await pool.fetchval(
            "SELECT count(*) FROM journey_events"
            " WHERE interaction_id = $1 AND type = 'interaction.completed'",
            iid,
        )
        return [r["status"] for r in history], events

    finished = await interactions.finish(
        pool, NS, waiting.id, "a1", "sold", None, None, journey_data=data, journey_cap=100
    )
    assert finished is None, "waiting work is not finished"
    assert await written(waiting.id) == (["queued"], 0), "and nothing is written for it"

    assert await interactions.assign(pool, NS, waiting.id, "a1") is True
    until = datetime.now(UTC) + timedelta(seconds=30)
    finished = await interactions.finish(
        pool, NS, waiting.id, "a1", "sold", "bought", until, journey_data=data, journey_cap=100
    )
    assert finished == "wrapup"
    assert await written(waiting.id) == (["queued", "wrapup"], 1)
    event = await pool.fetchrow("SELECT data FROM journey_events WHERE type = 'interaction.completed'")
    assert event["data"] == data

    other = await new_interaction(pool, cid)
    assert await interactions.assign(pool, NS, other.id, "a2") is True
    finished = await interactions.finish(
        pool, NS, other.id, "a2", None, None, None, journey_data={}, journey_cap=2
    )
    assert finished == "completed"
    done = await interactions.get(pool, NS, other.id)
    assert done is not None and done.status == "completed" and done.ended_at is not None
    kept = await pool.fetch("SELECT type FROM journey_events WHERE customer_id = $1 ORDER BY at", cid)
    assert [r["type"] for r in kept] == ["interaction.created", "interaction.completed"], (
        "the journey is capped in the same call: the newest two are kept"
    )


async def test_the_one_statement_accept_leaves_a_warm_transfers_copy_alone(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    first = await new_interaction(pool, cid)
    new_id = (await transferred(pool, first, {"transfer_mode": "warm", "transferred_from_agent": "a1"})).id
    assert await interactions.assign_recorded(pool, NS, new_id, "a2", warm=False) is None
    untouched = await interactions.get(pool, NS, new_id)
    assert untouched is not None and (untouched.status, untouched.agent_id) == ("queued", None)
    assigned = await interactions.assign_recorded(pool, NS, new_id, "a2", offer_id="o1")
    assert assigned is not None and (assigned.status, assigned.agent_id) == ("assigned", "a2")
    plain = await interactions.assign_recorded(pool, NS, first.id, "a3", warm=False, offer_id="o2")
    assert plain is not None and plain.agent_id == "a3", "any other interaction is assigned at once"


async def test_arrival_lookup_reads_interaction_message_and_key_owners(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool, "+15550177")  # with that phone number as its identity
    it = await new_interaction(pool, cid, external_id="EXT-1")
    message = await messages.insert(
        pool,
        interaction_id=it.id,
        conversation_id=it.conversation_id,
        channel="chat",
        direction="inbound",
        body="hi",
        external_id="MSG-1",
    )
    seen = await interactions.arrival_lookup(
        pool, NS, "chat", "EXT-1", "MSG-1", [("phone", "+15550177"), ("email", "nobody@example.com")]
    )
    assert seen.existing == it.id
    assert seen.message is not None and (seen.message.id, seen.message.interaction_id) == (message.id, it.id)
    assert seen.owners == {("phone", "+15550177"): cid}
    assert await interactions.arrival_lookup(pool, "other", "chat", "EXT-1", None, []) == (
        interactions.ArrivalLookup(None, None, {})
    ), "another domain's interaction is not found; no message id, no keys: nothing"


async def test_arrival_lookup_reads_what_committed_while_it_waited_for_its_locks(pool: asyncpg.Pool) -> None:
    """The look-up takes the ingest's locks first, in the same call: an ingest that waited for another
    holding the provider id's lock reads the interaction that other one committed meanwhile (a single
    statement's snapshot, taken before its lock wait, would read nothing and create it twice)."""
    cid = await new_customer(pool)
    lock = interactions.external_id_lock(NS, "chat", "EXT-RACE")
    async with pool.acquire() as first:
        tx = first.transaction()
        await tx.start()
        try:
            await lock_keys(first, [lock])
            written = await new_interaction(first, cid, external_id="EXT-RACE")

            async def second_ingest() -> interactions.ArrivalLookup:
                async with pool.acquire() as conn, conn.transaction():
                    return await interactions.arrival_lookup(
                        conn, NS, "chat", "EXT-RACE", None, [], locks=[lock]
                    )

            waiting = asyncio.create_task(second_ingest())
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the look-up waits for the lock the first ingest holds"
        finally:
            await tx.commit()
    seen = await asyncio.wait_for(waiting, 10)
    assert seen.existing == written.id


async def test_customer_end_abandons_waiting_work_and_marks_held_work(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    waiting = await new_interaction(pool, cid)
    held = await new_interaction(pool, cid)
    await interactions.assign(pool, NS, held.id, "a1")
    assert await interactions.customer_ended(pool, NS, waiting.id, "hung_up") == Closed(
        waiting.id, "abandoned"
    )
    assert await interactions.customer_ended(pool, NS, held.id, "left") == Closed(held.id, "assigned")
    assert await interactions.customer_ended(pool, NS, waiting.id, "again") is None
    assert await interactions.customer_ended(pool, NS, uuid.uuid4(), "x") is None
    ended = await interactions.get(pool, NS, held.id)
    assert ended is not None and ended.end_reason == "left" and ended.ended_at is not None


async def test_detail_has_messages_and_notes_oldest_first(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    it = await new_interaction(pool, cid)
    for body in ("one", "two"):
        await messages.insert(
            pool,
            interaction_id=it.id,
            conversation_id=it.conversation_id,
            channel="chat",
            direction="inbound",
            body=body,
        )
    await notes.insert(pool, cid, it.id, "a1", "note")
    detail = await interactions.get_detail(pool, NS, it.id)
    assert isinstance(detail, InteractionDetail)
    assert detail.interaction == it
    assert [m.body for m in detail.messages] == ["one", "two"]
    assert [(n.body, n.agent_id, n.interaction_id) for n in detail.notes] == [("note", "a1", it.id)]
    assert await interactions.get_detail(pool, NS, uuid.uuid4()) is None


async def test_transfer_insert_keeps_the_conversation_and_virtual_enqueue_time(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    first = await new_interaction(pool, cid, venq_ms=1_000)
    moved = await transferred(
        pool, first, {"transferred_from_queue": "support"}, channel="email", queue_id="billing"
    )
    new_id = moved.id
    assert (moved.id, moved.parent_id, moved.conversation_id, moved.venq_ms) == (
        new_id,
        first.id,
        first.conversation_id,
        1_000,
    )
    assert (moved.status, moved.queue, moved.subject) == ("queued", "billing", "Re: plan")
    await interactions.close(pool, NS, first.id, "transferred", "transferred to billing")
    assert await interactions.live_in_conversation(pool, NS, first.conversation_id) == new_id
    assert await interactions.open_for(pool, NS, cid, "email", None) == new_id
    assert await interactions.open_for(pool, NS, cid, "email", first.conversation_id) == new_id
    assert await interactions.open_for(pool, NS, cid, "email", uuid.uuid4()) is None
    assert await interactions.open_for(pool, NS, cid, "chat", None) is None, "the transferred one is closed"
    await interactions.set_subject(pool, NS, new_id, "Re: Re: plan")
    assert (await interactions.get(pool, NS, new_id)).subject == "Re: Re: plan"


async def test_open_work_statuses_and_customers(pool: asyncpg.Pool) -> None:
    c1, c2 = await new_customer(pool, "+15550201"), await new_customer(pool, "+15550202")
    waiting = await new_interaction(pool, c1, queue_id="q1")
    held = await new_interaction(pool, c2, queue_id="q2")
    done = await new_interaction(pool, c2, queue_id="q2")
    await interactions.assign(pool, NS, held.id, "a1")
    await interactions.add_history(pool, held.id, "assigned", "a1", offer_id="o1")
    await interactions.close(pool, NS, done.id, "completed")
    found = {o.id: o for o in await interactions.open_all(pool, NS)}
    assert set(found) == {waiting.id, held.id}
    row = found[held.id]
    assert isinstance(row, OpenInteraction)
    assert (row.queue_id, row.status, row.agent_id, row.customer_id, row.venq_ms) == (
        "q2",
        "assigned",
        "a1",
        c2,
        held.venq_ms,
    )
    assert row.created_ms == pytest.approx(held.created_at.timestamp() * 1000, abs=1)
    assert row.changed_ms is not None and row.changed_ms >= row.created_ms
    assert found[waiting.id].wrapup_until is None
    assert await interactions.statuses(pool, NS, [waiting.id, done.id, uuid.uuid4()]) == {
        waiting.id: "queued",
        done.id: "completed",
    }
    assert await interactions.customer_ids(pool, NS, [waiting.id, held.id, done.id]) == {c1, c2}
    assert await interactions.customer_ids(pool, NS, []) == set()


async def test_day_counts_per_queue(pool: asyncpg.Pool) -> None:
    await queues.upsert(pool, NS, QueueRecord("q1", None, {}, ["chat"], 0, 20.0, 30.0, 20.0, []))
    cid = await new_customer(pool)
    fast = await new_interaction(pool, cid, queue_id="q1")
    slow = await new_interaction(pool, cid, queue_id="q1", venq_ms=fast.venq_ms - 3_600_000)
    gone = await new_interaction(pool, cid, queue_id="q1")
    await new_interaction(pool, cid, queue_id="q1")
    for it in (fast, slow):
        await interactions.assign(pool, NS, it.id, "a1")
    await interactions.customer_ended(pool, NS, gone.id, "hung_up")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert await interactions.day_counts(pool, NS, today) == [QueueDayCounts("q1", 2, 1, 1)]
    assert await interactions.day_counts(pool, NS, today + timedelta(days=1)) == []


async def test_day_metrics_per_queue(pool: asyncpg.Pool) -> None:
    """Arrived, answered, abandoned and the average speed of answer (arrival to acceptance) of today."""
    await queues.upsert(pool, NS, QueueRecord("q1", None, {}, ["chat"], 0, 20.0, 30.0, 20.0, []))
    cid = await new_customer(pool)
    quick, slow, gone, _waiting = [await new_interaction(pool, cid, queue_id="q1") for _ in range(4)]
    for it, waited in ((quick, 10), (slow, 50)):
        await interactions.assign(pool, NS, it.id, "a1")
        await pool.execute(
            "UPDATE interactions SET assigned_at = created_at + make_interval(secs => $2) WHERE id = $1",
            it.id,
            waited,
        )
    await interactions.customer_ended(pool, NS, gone.id, "hung_up")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    [row] = await interactions.day_metrics(pool, NS, today)
    assert row == QueueDayMetrics("q1", 4, 2, 1, pytest.approx(30.0))
    assert await interactions.day_metrics(pool, NS, today + timedelta(days=1)) == []
    assert await interactions.day_metrics(pool, "another", today) == []
