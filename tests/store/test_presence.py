"""The presence history: each change stored once, and the time per state and reason over a range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from context_store import presence
from context_store.records import StateChange, StateTotal
from tests.store.conftest import NS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def _script(pool: asyncpg.Pool) -> None:
    sequence = [
        (0, "away", ""),
        (10, "available", ""),
        (40, "away", "lunch"),
        (70, "away", "missed"),
        (100, "offline", "disconnected"),
    ]
    for n, (s, state, reason) in enumerate(sequence):
        await presence.record_change(pool, NS, "ana", state, reason, at(s), f"{1000 + n}-0")
    await presence.record_change(pool, NS, "bo", "available", "", at(20), "2000-0")  # another agent


async def test_totals_split_the_range_by_state_and_reason(pool: asyncpg.Pool) -> None:
    await _script(pool)
    # the state in force at `from` (away since 0) counts from `from`; the last one until `to`
    totals = await presence.totals(pool, NS, "ana", at(5), at(130))
    assert totals == [
        StateTotal("available", "", 30.0),
        StateTotal("away", "", 5.0),
        StateTotal("away", "lunch", 30.0),
        StateTotal("away", "missed", 30.0),
        StateTotal("offline", "disconnected", 30.0),
    ]
    # a range inside one state
    assert await presence.totals(pool, NS, "ana", at(45), at(50)) == [StateTotal("away", "lunch", 5.0)]
    # before the first change nothing is known, so nothing is counted
    assert await presence.totals(pool, NS, "ana", at(-50), at(10)) == [StateTotal("away", "", 10.0)]
    assert await presence.totals(pool, NS, "nobody", at(0), at(100)) == []


async def test_a_change_recorded_twice_is_kept_once(pool: asyncpg.Pool) -> None:
    """Every router process reads the same event and records it: the event id makes it one row."""
    await _script(pool)
    await presence.record_change(pool, NS, "ana", "away", "lunch", at(40), "1002-0")
    changes = await presence.changes(pool, NS, "ana", at(0), at(200))
    assert changes == [
        StateChange("away", "", at(0)),
        StateChange("available", "", at(10)),
        StateChange("away", "lunch", at(40)),
        StateChange("away", "missed", at(70)),
        StateChange("offline", "disconnected", at(100)),
    ]
    assert await presence.changes(pool, NS, "ana", at(10), at(70)) == changes[1:3]


async def test_each_routing_domain_has_its_own_history(pool: asyncpg.Pool) -> None:
    """Two domains may both have an agent `ana`, and their streams may give two changes one id."""
    await presence.record_change(pool, "eu", "ana", "available", "", at(0), "1000-0")
    await presence.record_change(pool, "us", "ana", "away", "lunch", at(0), "1000-0")
    assert await presence.totals(pool, "eu", "ana", at(0), at(10)) == [StateTotal("available", "", 10.0)]
    assert await presence.totals(pool, "us", "ana", at(0), at(10)) == [StateTotal("away", "lunch", 10.0)]
    assert await presence.changes(pool, NS, "ana", at(0), at(10)) == []
