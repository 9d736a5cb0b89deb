"""Merging customers in the store: everything of the other customer moves and an unmerge puts every row
back where it was; the merge is recorded; refusals change nothing; merges that race on the same
customers (and a contact resolved while its customer is merged) leave one consistent record."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from context_store import customers, journey, merges, notes
from context_store.errors import RecordNotFound
from context_store.merges import BOOKKEEPING_COLUMNS, MERGED_COLUMNS, MergeRefused
from tests.store.conftest import new_customer, new_interaction

SNAPSHOT = {
    "customers": "SELECT id, name, email, phone, anonymous, merged_into FROM customers WHERE id = ANY($1)",
    "identities": "SELECT kind, value, customer_id FROM identities WHERE customer_id = ANY($1)",
    "conversations": "SELECT id, customer_id FROM conversations WHERE customer_id = ANY($1)",
    "interactions": "SELECT id, customer_id, conversation_id FROM interactions WHERE customer_id = ANY($1)",
    "notes": "SELECT id, customer_id, interaction_id, body FROM notes WHERE customer_id = ANY($1)",
    "journey_events": "SELECT id, customer_id, type FROM journey_events WHERE customer_id = ANY($1)",
    "possible_matches": "SELECT customer_id, candidate_id, matched, created_at FROM possible_matches"
    " WHERE customer_id = ANY($1) OR candidate_id = ANY($1)",
}


async def snapshot(pool: asyncpg.Pool, *ids: uuid.UUID) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of these customers, table by table."""
    return {t: {tuple(r.values()) for r in await pool.fetch(sql, list(ids))} for t, sql in SNAPSHOT.items()}


async def customer_with_history(pool: asyncpg.Pool, phone: str, email: str) -> uuid.UUID:
    cid = await new_customer(pool, phone)
    async with pool.acquire() as conn, conn.transaction():
        await customers.resolve_customer(conn, [("phone", phone), ("email", email)])
    for n in range(2):
        it = await new_interaction(pool, cid, channel="voice")
        await notes.insert(pool, cid, it.id, "alice", f"note {n} of {phone}")
        await journey.add_event(pool, cid, "interaction.completed", {"n": n}, interaction_id=it.id)
    await notes.insert(pool, cid, None, "alice", f"about {phone}")
    await journey.add_event(pool, cid, "page_view", {"url": "/pricing"})
    return cid


async def test_every_reference_to_a_customer_is_merged_or_bookkeeping(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch(
        """SELECT cl.relname AS tab, att.attname AS col
           FROM pg_constraint con
           JOIN pg_class cl ON cl.oid = con.conrelid
           JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY(con.conkey)
           WHERE con.contype = 'f' AND con.confrelid = 'customers'::regclass"""
    )
    found = {(r["tab"], r["col"]) for r in rows}
    assert found == MERGED_COLUMNS | BOOKKEEPING_COLUMNS, (
        "a table names a customer: make customer_merge_move and customer_unmerge_move move its rows"
    )


async def test_merge_moves_everything_and_unmerge_restores_both_exactly(pool: asyncpg.Pool) -> None:
    kept = await customer_with_history(pool, "+15550111", "kept@example.com")
    other = await customer_with_history(pool, "+15550122", "other@example.com")
    third = await new_customer(pool, "+15550133")
    # the other had named the kept one and a third customer as possible matches; the third names the other
    async with pool.acquire() as conn, conn.transaction():
        await customers.resolve_customer(conn, [("phone", "+15550122")], claimed=[("phone", "+15550111")])
        await customers.resolve_customer(conn, [("phone", "+15550122")], claimed=[("phone", "+15550133")])
        await customers.resolve_customer(conn, [("phone", "+15550133")], claimed=[("phone", "+15550122")])
    before = await snapshot(pool, kept, other, third)
    other_rows = {t: {r for r in rows if other in r} for t, rows in before.items()}
    assert len(other_rows["interactions"]) == 2 and len(other_rows["notes"]) == 3

    done = await merges.merge(pool, kept, other, reason="same person", merged_by="supervisor:t1")
    assert (done.customer_id, done.other_customer_id, done.reason, done.merged_by) == (
        kept,
        other,
        "same person",
        "supervisor:t1",
    )
    assert done.matched == ["phone"] and done.unmerged_at is None
    during = await snapshot(pool, kept, other, third)
    for table in ("identities", "conversations", "interactions", "notes", "journey_events"):
        assert all(other not in r for r in during[table]), table
        assert len(during[table]) == len(before[table]), table
    assert {(r[0], r[1]) for r in during["possible_matches"]} == {(kept, third), (third, kept)}
    assert {r[0]: r[5] for r in during["customers"]} == {kept: None, other: kept, third: None}
    kept_record = await customers.context_json(pool, kept)
    assert kept_record is not None and "note 1 of +15550122" in kept_record

    undone = await merges.unmerge(pool, kept, done.id, unmerged_by="admin")
    assert undone.id == done.id and undone.unmerged_by == "admin" and undone.unmerged_at is not None
    assert await snapshot(pool, kept, other, third) == before
    listed = await merges.merges_of(pool, other)
    assert [(m.id, m.unmerged_by) for m in listed] == [(done.id, "admin")]
    assert [m.id for m in await merges.merges_of(pool, kept)] == [done.id]


async def test_unmerge_takes_back_what_grew_from_the_others_history(pool: asyncpg.Pool) -> None:
    kept = await customer_with_history(pool, "+15550211", "k2@example.com")
    other = await customer_with_history(pool, "+15550222", "o2@example.com")
    conv = (await pool.fetchrow("SELECT conversation_id FROM interactions WHERE customer_id = $1", other))[0]
    done = await merges.merge(pool, kept, other, reason="r", merged_by="admin")
    # after the merge: a transfer in the other's conversation, a note on it, a note of the kept customer
    grown = await new_interaction(pool, kept, conversation_id=conv)
    on_grown = await notes.insert(pool, kept, grown.id, "bob", "after the merge")
    own = await notes.insert(pool, kept, None, "bob", "the kept customer's own")
    await merges.unmerge(pool, kept, done.id, unmerged_by="admin")
    owner = {r["id"]: r["customer_id"] for r in await pool.fetch("SELECT id, customer_id FROM notes")}
    assert owner[on_grown.id] == other and owner[own.id] == kept
    assert await pool.fetchval("SELECT customer_id FROM interactions WHERE id = $1", grown.id) == other


async def test_refusals_change_nothing(pool: asyncpg.Pool) -> None:
    a = await customer_with_history(pool, "+15550311", "a3@example.com")
    b = await customer_with_history(pool, "+15550322", "b3@example.com")
    c = await new_customer(pool, "+15550333")
    before = await snapshot(pool, a, b, c)
    with pytest.raises(MergeRefused):
        await merges.merge(pool, a, a, reason="r", merged_by="admin")
    with pytest.raises(RecordNotFound):
        await merges.merge(pool, a, uuid.uuid4(), reason="r", merged_by="admin")
    with pytest.raises(RecordNotFound):
        await merges.merge(pool, uuid.uuid4(), a, reason="r", merged_by="admin")
    assert await snapshot(pool, a, b, c) == before
    done = await merges.merge(pool, a, b, reason="r", merged_by="admin")
    after = await snapshot(pool, a, b, c)
    for kept, other in ((c, b), (b, c), (a, b), (b, a)):  # b is merged away: neither side of a merge
        with pytest.raises(MergeRefused):
            await merges.merge(pool, kept, other, reason="r", merged_by="admin")
    with pytest.raises(RecordNotFound):  # a merge into another customer
        await merges.unmerge(pool, c, done.id, unmerged_by="admin")
    merged_on = await merges.merge(pool, c, a, reason="later", merged_by="admin")
    after = await snapshot(pool, a, b, c)
    with pytest.raises(MergeRefused):  # a was merged into c since: that merge is undone first
        await merges.unmerge(pool, a, done.id, unmerged_by="admin")
    assert await snapshot(pool, a, b, c) == after
    await merges.unmerge(pool, c, merged_on.id, unmerged_by="admin")
    await merges.unmerge(pool, a, done.id, unmerged_by="admin")
    with pytest.raises(MergeRefused):
        await merges.unmerge(pool, a, done.id, unmerged_by="admin")
    assert await snapshot(pool, a, b, c) == before


async def test_racing_merges_of_the_same_customers_leave_one_record(pool: asyncpg.Pool) -> None:
    for round_ in range(6):
        a = await customer_with_history(pool, f"+1555041{round_}1", f"a{round_}@example.com")
        b = await customer_with_history(pool, f"+1555042{round_}2", f"b{round_}@example.com")
        c = await customer_with_history(pool, f"+1555043{round_}3", f"c{round_}@example.com")
        before = await snapshot(pool, a, b, c)
        # a into b, b into a, c into a and c into b, all at once
        pairs = [(b, a), (a, b), (a, c), (b, c), (c, a)]
        results = await asyncio.gather(
            *(
                merges.merge(pool, k, o, reason=f"race {n}", merged_by="admin")
                for n, (k, o) in enumerate(pairs)
            ),
            return_exceptions=True,
        )
        for r in results:
            assert not isinstance(r, BaseException) or isinstance(r, MergeRefused), r
        done = [r for r in results if not isinstance(r, BaseException)]
        assert done, "one merge at least goes through"
        after = await snapshot(pool, a, b, c)
        alive = {r[0] for r in after["customers"] if r[5] is None}
        merged_away = {r[0]: r[5] for r in after["customers"] if r[5] is not None}
        # every customer merged away points at one still alive, and owns nothing any more
        assert all(t in alive or merged_away.get(t) in alive for t in merged_away.values())
        for table in ("identities", "conversations", "interactions", "notes", "journey_events"):
            assert len(after[table]) == len(before[table]), table
            assert {r[-1] if table == "identities" else r[1] for r in after[table]} <= alive, table
        # the recorded merges replay the outcome, and undoing them newest first restores everything
        for m in sorted(done, key=lambda m: m.merged_at, reverse=True):
            await merges.unmerge(pool, m.customer_id, m.id, unmerged_by="admin")
        assert await snapshot(pool, a, b, c) == before


async def test_a_contact_resolved_while_its_customer_is_merged_lands_on_the_kept_one(
    pool: asyncpg.Pool,
) -> None:
    kept = await new_customer(pool, "+15550511")
    other = await new_customer(pool, "+15550522")
    resolved = asyncio.Event()

    async def contact() -> uuid.UUID:
        async with pool.acquire() as conn, conn.transaction():
            cid = await customers.resolve_customer(conn, [("phone", "+15550522")])
            resolved.set()
            await asyncio.sleep(0.5)  # the merge starts meanwhile and must wait for this contact
            await new_interaction(conn, cid)
            return cid

    async def merge_when_resolved() -> None:
        await resolved.wait()
        await merges.merge(pool, kept, other, reason="r", merged_by="admin")

    found, _ = await asyncio.gather(contact(), merge_when_resolved())
    assert found == other
    owners = {r[0] for r in await pool.fetch("SELECT customer_id FROM interactions")}
    assert owners == {kept}, "an interaction was left on the customer merged away"
    async with pool.acquire() as conn, conn.transaction():
        assert await customers.resolve_customer(conn, [("phone", "+15550522")]) == kept


async def test_writes_for_a_customer_merged_away_follow_the_merge(pool: asyncpg.Pool) -> None:
    """A writer that read the customer before the merge (an agent's note, a transfer's new interaction, a
    journey event) writes after it: the rows go to the customer kept, also while the merge is in flight."""
    kept = await new_customer(pool, "+15550611")
    other = await new_customer(pool, "+15550622")
    it = await new_interaction(pool, other)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await merges._merge(conn, kept, other, "r", "admin")  # in flight: not committed yet
        late_note = asyncio.create_task(notes.insert(pool, other, it.id, "alice", "written meanwhile"))
        await asyncio.sleep(0.3)
        assert not late_note.done(), "the write did not wait for the merge in flight"
        await tx.commit()
    note = await late_note
    after = await new_interaction(pool, other, conversation_id=it.conversation_id)
    event = await journey.add_event(pool, other, "page_view", {"url": "/late"})
    owners = await pool.fetch(
        "SELECT customer_id FROM notes WHERE id = $1 UNION ALL SELECT customer_id FROM interactions"
        " WHERE id = $2 UNION ALL SELECT customer_id FROM journey_events WHERE id = $3",
        note.id,
        after.id,
        event.id,
    )
    assert [r[0] for r in owners] == [kept, kept, kept]
    record = await customers.context_json(pool, kept)
    assert record is not None and "written meanwhile" in record and "/late" in record


async def test_writes_that_read_the_customer_before_an_unmerge_follow_their_parent(
    pool: asyncpg.Pool,
) -> None:
    kept = await new_customer(pool, "+15550711")
    other = await new_customer(pool, "+15550722")
    it = await new_interaction(pool, other)
    done = await merges.merge(pool, kept, other, reason="r", merged_by="admin")
    await merges.unmerge(pool, kept, done.id, unmerged_by="admin")
    # written by someone who read the customer while the two were merged
    note = await notes.insert(pool, kept, it.id, "alice", "read while merged")
    event = await journey.add_event(pool, kept, "call.note", {}, interaction_id=it.id)
    transfer = await new_interaction(pool, kept, conversation_id=it.conversation_id)
    own = await notes.insert(pool, kept, None, "alice", "the kept customer's own")
    owners = await pool.fetch(
        "SELECT customer_id FROM notes WHERE id = $1 UNION ALL SELECT customer_id FROM journey_events"
        " WHERE id = $2 UNION ALL SELECT customer_id FROM interactions WHERE id = $3"
        " UNION ALL SELECT customer_id FROM notes WHERE id = $4",
        note.id,
        event.id,
        transfer.id,
        own.id,
    )
    assert [r[0] for r in owners] == [other, other, other, kept]
