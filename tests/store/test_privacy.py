"""Personal data in the store: the journey cap under racing writers, an erasure (what it removes, what it
keeps, when it refuses), and the retention purge (old bodies only)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from context_store import customers, journey, merges, messages, notes, privacy
from context_store.errors import RecordNotFound
from context_store.records import Interaction
from tests.store.conftest import new_customer, new_interaction

CAP = 12


async def _count(pool: asyncpg.Pool, customer_id: uuid.UUID) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM journey_events WHERE customer_id = $1", customer_id))


async def _race(
    pool: asyncpg.Pool, customer_id: uuid.UUID, write: Callable[[int], Awaitable[None]]
) -> list[int]:
    """80 writers at once (more than the pool has connections: they really wait on one another) while a
    reader counts the customer's events; every count it saw."""
    seen: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            seen.append(await _count(pool, customer_id))
            await asyncio.sleep(0)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(write(n) for n in range(80)))
    done.set()
    await sampler
    return seen


async def test_the_journey_cap_holds_while_writers_race(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool, "+15550140")
    base = datetime(2026, 1, 1, tzinfo=UTC)

    async def write(n: int) -> None:
        await journey.add_event(pool, cid, "page_view", {"n": n}, at=base + timedelta(seconds=n), cap=CAP)

    seen = await _race(pool, cid, write)
    assert await _count(pool, cid) == CAP
    assert seen and max(seen) <= CAP, f"a reader saw {max(seen)} events, over the cap of {CAP}"
    kept = await pool.fetch("SELECT data FROM journey_events WHERE customer_id = $1 ORDER BY at DESC", cid)
    assert [r["data"]["n"] for r in kept] == list(range(79, 79 - CAP, -1)), "the newest are kept"


async def test_the_journey_cap_holds_for_events_of_now_written_in_one_statement(pool: asyncpg.Pool) -> None:
    """An event of the current time is inserted and trimmed by one statement, under the same lock: the
    cap holds while writers race, the newest are kept, and an erased customer gets nothing."""
    cid = await new_customer(pool, "+15550141")

    async def write(n: int) -> None:
        await journey.add_event(pool, cid, "page_view", {"n": n}, cap=CAP)

    seen = await _race(pool, cid, write)
    assert await _count(pool, cid) == CAP
    assert seen and max(seen) <= CAP, f"a reader saw {max(seen)} events, over the cap of {CAP}"
    newest = await pool.fetch(
        "SELECT data FROM journey_events WHERE customer_id = $1 ORDER BY at DESC, id DESC", cid
    )
    last = await journey.add_event(pool, cid, "page_view", {"n": "last"}, cap=CAP)
    kept = await pool.fetch(
        "SELECT id, data FROM journey_events WHERE customer_id = $1 ORDER BY at DESC, id DESC", cid
    )
    assert kept[0]["id"] == last.id and len(kept) == CAP
    assert [r["data"] for r in kept[1:]] == [r["data"] for r in newest[: CAP - 1]], "the oldest one went"
    gone = uuid.uuid4()
    with pytest.raises(RecordNotFound):
        await journey.add_event(pool, gone, "page_view", {}, cap=CAP)


async def _noted_chat(pool: asyncpg.Pool, cid: uuid.UUID, text: str) -> Interaction:
    it = await new_interaction(pool, cid, channel="chat")
    await messages.insert(
        pool,
        interaction_id=it.id,
        conversation_id=it.conversation_id,
        channel="chat",
        direction="inbound",
        body=text,
        attachments=[{"url": "https://files.example/passport.png", "name": "passport.png"}],
    )
    await notes.insert(pool, cid, it.id, "alice", f"note: {text}")
    await journey.add_event(pool, cid, "page_view", {"url": "/account"}, interaction_id=it.id)
    return it


async def test_an_erasure_blanks_the_person_and_keeps_the_counts(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool, "+15550141")
    other = await new_customer(pool, "+15550142")
    await pool.execute("INSERT INTO possible_matches VALUES ($1, $2, 'phone')", other, cid)
    it = await _noted_chat(pool, cid, "my card ends 4471")
    with pytest.raises(privacy.LiveWork):  # still queued: nothing erased
        await privacy.erase(pool, cid, "admin:t1")
    assert (await customers.get(pool, cid)).phone == "+15550141"  # type: ignore[union-attr]
    await pool.execute("UPDATE interactions SET status = 'completed', ended_at = now() WHERE id = $1", it.id)
    await pool.execute(
        "INSERT INTO surveys (interaction_id, customer_id, kind, score, comment)"
        " VALUES ($1, $2, 'nps', 3, $3)",
        it.id,
        cid,
        "the passport desk was rude",
    )
    await pool.execute(
        "INSERT INTO consent_events (customer_id, channel, purpose, status, source, actor)"
        " VALUES ($1, 'sms', 'marketing', 'opted_out', 'keyword', 'customer')",
        cid,
    )
    before = json.loads(await privacy.export_json(pool, cid) or "{}")
    assert [(k["channel"], k["status"]) for k in before["consent"]] == [("sms", "opted_out")]
    assert [(v["kind"], v["score"], v["comment"]) for v in before["surveys"]] == [
        ("nps", 3, "the passport desk was rude")
    ]

    erased = await privacy.erase(pool, cid, "admin:t1")
    assert erased is not None and erased.new
    assert erased.interactions == {"omniroute": {str(it.id)}}
    assert erased.erasure.counts == {
        "messages": 1,
        "notes": 1,
        "interactions": 1,
        "journey_events": 2,  # interaction.created and the page view
        "survey_comments": 1,
        "identities": 1,
        "possible_matches": 1,
        "merged_customers": 0,
        "merges": 0,
        "preferences": 0,
    }
    raw = await privacy.export_json(pool, cid)
    assert raw is not None
    for secret in ("4471", "+15550141", "passport"):
        assert secret not in raw, f"{secret!r} survived the erasure"
    export = json.loads(raw)
    assert export["customer"]["erased_at"] is not None and export["customer"]["phone"] is None
    assert export["identities"] == [] and export["journey"] == [] and export["possible_matches"] == []
    assert [m["body"] for m in export["messages"]] == [""] and export["messages"][0]["redacted_at"]
    assert [(i["id"], i["status"], i["queue"]) for i in export["interactions"]] == [
        (str(it.id), "completed", "support")
    ]
    assert export["erasures"][0]["erased_by"] == "admin:t1"
    # the survey's comment is the customer's words; its score stays for the reports
    assert [(v["kind"], v["score"], v["comment"]) for v in export["surveys"]] == [("nps", 3, None)]
    # the other customer no longer points at the erased one
    assert await customers.possible_matches(pool, other) == []
    # again: nothing changes, the first erasure is answered
    again = await privacy.erase(pool, cid, "admin:t2")
    assert again is not None and not again.new and again.erasure.id == erased.erasure.id
    # no journey event lands on an erased customer
    with pytest.raises(RecordNotFound):
        await journey.add_event(pool, cid, "page_view", {})
    # the same number is a new customer now
    assert await new_customer(pool, "+15550141") != cid
    assert await privacy.erase(pool, uuid.uuid4(), "admin:t1") is None


async def test_retention_purges_old_bodies_only(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool, "+15550143")
    it = await new_interaction(pool, cid)
    ids = {}
    for label in ("old", "new", "pending"):
        m = await messages.insert(
            pool,
            interaction_id=it.id,
            conversation_id=it.conversation_id,
            channel="chat",
            direction="outbound" if label == "pending" else "inbound",
            body=f"{label} body",
            agent_id="alice" if label == "pending" else None,
            status="pending" if label == "pending" else "received",
            attachments=[{"url": f"https://files.example/{label}.png"}],
        )
        assert m is not None
        ids[label] = m.id
    await pool.execute(
        "UPDATE messages SET created_at = now() - interval '40 days' WHERE id = ANY($1::uuid[])",
        [ids["old"], ids["pending"]],
    )
    cutoff = datetime.now(UTC) - timedelta(days=30)
    assert await privacy.purge_messages_before(pool, cutoff, batch=1) == 1
    assert await privacy.purge_messages_before(pool, cutoff) == 0, "idempotent"
    rows = {
        r["id"]: (r["body"], r["attachments"], r["redacted_at"] is not None)
        for r in await pool.fetch("SELECT id, body, attachments, redacted_at FROM messages")
    }
    assert rows[ids["old"]] == ("", [], True)
    assert rows[ids["new"]] == ("new body", [{"url": "https://files.example/new.png"}], False)
    # an outbound reply not yet handed to its adapter is never blanked before it is sent
    assert rows[ids["pending"]][0] == "pending body"


async def _contact(pool: asyncpg.Pool, phone: str) -> tuple[uuid.UUID, uuid.UUID]:
    """What ingest does for a new call: resolve the caller and open a waiting interaction, one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        cid = await customers.resolve_customer(conn, [("phone", phone)], phone=phone)
        it = await new_interaction(conn, cid, channel="voice")  # type: ignore[arg-type]
        await journey.trim(conn, cid, journey.DEFAULT_JOURNEY_CAP)
    return cid, it.id


async def _erase(pool: asyncpg.Pool, cid: uuid.UUID) -> str:
    try:
        erased = await privacy.erase(pool, cid, "admin:t")
    except privacy.LiveWork:
        return "refused"
    assert erased is not None
    return "erased"


async def _journal(pool: asyncpg.Pool, cid: uuid.UUID) -> bool:
    try:
        await journey.add_event(pool, cid, "page_view", {})
    except RecordNotFound:
        return False
    return True


async def test_an_erasure_racing_a_contact_and_journey_writes_leaves_no_stranger_and_no_deadlock(
    pool: asyncpg.Pool,
) -> None:
    outcomes: list[str] = []
    for n in range(15):
        phone = f"+1555017{n:04d}"
        cid = await new_customer(pool, phone)
        erasure, (owner, iid), _ = await asyncio.gather(
            _erase(pool, cid), _contact(pool, phone), _journal(pool, cid)
        )
        outcomes.append(erasure)
        if erasure == "erased":
            # the contact came after: a new customer, and the erased one holds no live work nor journey
            assert owner != cid
            assert await pool.fetchval("SELECT erased_at FROM customers WHERE id = $1", cid) is not None
            live = await pool.fetchval(
                "SELECT count(*) FROM interactions WHERE customer_id = $1 AND status = 'queued'", cid
            )
            assert live == 0
            assert await pool.fetchval("SELECT count(*) FROM journey_events WHERE customer_id = $1", cid) == 0
        else:
            # the contact came first: it is the customer's, and nothing of theirs was erased
            assert owner == cid
            assert (await customers.get(pool, cid)).phone == phone  # type: ignore[union-attr]
        assert await pool.fetchval("SELECT customer_id FROM interactions WHERE id = $1", iid) == owner
    assert len(outcomes) == 15


async def test_erasing_a_merged_customer_reaches_the_record_merged_into_it(pool: asyncpg.Pool) -> None:
    kept = await new_customer(pool, "+15550190")
    other = await new_customer(pool, "+15550191")
    await pool.execute("UPDATE customers SET name = 'Ana Lindqvist' WHERE id = $1", other)
    done = await merges.merge(
        pool, kept, other, reason="said she is Ana Lindqvist", merged_by="supervisor:t1"
    )
    erased = await privacy.erase(pool, kept, "admin:t1")
    assert erased is not None and erased.erasure.counts["merged_customers"] == 1
    assert erased.erasure.counts["merges"] == 1 and erased.erasure.counts["identities"] == 2
    raw = await privacy.export_json(pool, kept)
    assert raw is not None
    for secret in ("Lindqvist", "+15550190", "+15550191"):
        assert secret not in raw, f"{secret!r} survived the erasure"
    assert [m["id"] for m in json.loads(raw)["merges"]] == [str(done.id)]
    other_row = await customers.get(pool, other)
    assert other_row is not None and other_row.name is None and other_row.phone is None
