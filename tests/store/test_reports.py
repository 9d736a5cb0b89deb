"""Report queries against PostgreSQL over a synthetic history (the benchmark's loader): every contact
of the range is counted once whatever the grouping, and agents' handling time adds up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from context_store import interactions, reports, synthetic
from tests.store.conftest import NS, new_customer, new_interaction

START = datetime(2025, 3, 1, tzinfo=UTC)
HISTORY = synthetic.SyntheticHistory(
    interactions=3000,
    start=START,
    days=60,
    customers=500,
    queues=("billing", "support"),
    channels=("voice", "chat", "sms"),
    agents=7,
    namespace=NS,
)


async def test_every_grouping_counts_each_contact_of_the_range_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        written: list[int] = []
        await synthetic.load(conn, HISTORY, chunk=1000, progress=written.append)
        assert written == [1000, 2000, 3000]
    end = START + timedelta(days=60)
    in_range = await pool.fetchval(
        "SELECT count(*) FROM interactions WHERE created_at >= $1 AND created_at < $2", START, end
    )
    assert in_range == 3000
    totals = {}
    for group_by in ("none", "queue", "channel", "agent"):
        rows = await reports.kpi_counts(
            pool, NS, start=START, end=end, tz="Europe/Paris", interval_seconds=86400, group_by=group_by,
            fcr_window_seconds=72 * 3600,
        )  # fmt: skip
        totals[group_by] = (sum(r.offered for r in rows), sum(r.answered for r in rows))
        assert {r.key for r in rows} <= {"all", "billing", "support", "voice", "chat", "sms"} | {
            f"agent-{n:03}" for n in range(1, 8)
        }
    abandoned = await pool.fetchval("SELECT count(*) FROM interactions WHERE status = 'abandoned'")
    assert totals["none"] == totals["queue"] == totals["channel"] == (3000, 3000 - abandoned)
    # per agent: only answered contacts, every one of them
    assert totals["agent"] == (3000 - abandoned, 3000 - abandoned)


async def test_busy_seconds_are_the_handle_spans_cut_at_the_range(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await synthetic.load(conn, HISTORY)
    start, end = START + timedelta(days=10), START + timedelta(days=20)
    busy = await reports.agent_busy(pool, NS, start=start, end=end, tz="UTC", interval_seconds=3600)
    rows = await pool.fetch(
        "SELECT agent_id, greatest(assigned_at, $1) AS s, least(closed_at, $2) AS e"
        " FROM interactions WHERE assigned_at < $2 AND closed_at > $1 ORDER BY agent_id, s",
        start, end,
    )  # fmt: skip
    # work an agent held at once counts once: the union of each agent's spans, merged here by hand
    expected, agent, run_start, run_end = 0.0, None, None, None
    for r in rows:
        if r["agent_id"] != agent or run_end is None or r["s"] > run_end:
            if run_end is not None and run_start is not None:
                expected += (run_end - run_start).total_seconds()
            agent, run_start, run_end = r["agent_id"], r["s"], r["e"]
        else:
            run_end = max(run_end, r["e"])
    if run_end is not None and run_start is not None:
        expected += (run_end - run_start).total_seconds()
    summed = sum((r["e"] - r["s"]).total_seconds() for r in rows)
    assert expected < summed  # the history has agents holding several chats at once
    assert abs(sum(b.busy_seconds for b in busy) - expected) < 1e-3
    assert all(start <= b.interval_start < end and 0 < b.busy_seconds for b in busy)


async def test_a_repeat_long_after_the_range_still_counts_against_first_contact_resolution(
    pool: asyncpg.Pool,
) -> None:
    """An e-mail that arrived in the range but ended eight days later: its FCR window reaches past what
    the range's read covers, and a repeat contact in it is still found."""
    customer = await new_customer(pool)
    other = await new_customer(pool, "+15550199")
    day = datetime(2025, 6, 2, tzinfo=UTC)
    made = []
    for who, arrived, ended in (
        (customer, day + timedelta(hours=10), day + timedelta(days=8)),  # resolved late...
        (customer, day + timedelta(days=10), day + timedelta(days=10, hours=1)),  # ...repeat within 72 h
        (other, day + timedelta(hours=11), day + timedelta(days=8)),  # resolved late, no repeat
    ):
        it = await new_interaction(pool, who, channel="email")
        async with pool.acquire() as conn, conn.transaction():
            assert await interactions.assign(conn, NS, it.id, "ann")
            assert await interactions.wrapup(conn, NS, it.id, None, None, None)
            assert await interactions.close(conn, NS, it.id, "completed")
            await conn.execute(
                "UPDATE interactions SET created_at = $2, assigned_at = $2, ended_at = $3, closed_at = $3,"
                " venq_ms = (extract(epoch FROM $2::timestamptz) * 1000)::bigint WHERE id = $1",
                it.id, arrived, ended,
            )  # fmt: skip
        made.append(it)
    [row] = await reports.kpi_counts(
        pool, NS, start=day, end=day + timedelta(days=1), tz="UTC", interval_seconds=86400, group_by="none",
        fcr_window_seconds=72 * 3600,
    )  # fmt: skip
    assert (row.offered, row.resolved, row.resolved_first) == (2, 2, 1)
    # time to resolution: arrival to end, 8 days less 10 and 11 hours
    assert row.resolution_seconds == (8 * 86400 - 10 * 3600) + (8 * 86400 - 11 * 3600)
