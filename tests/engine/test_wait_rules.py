"""queue_rules.lua, move.lua and the f:/h: timers: a queue that holds its work while closed offers nothing
until its opening timer fires; a timed overflow and a bot's move take an interaction from one queue to
another at the same rank score, in one script, with an 'overflowed' event."""

from __future__ import annotations

import asyncio

from router.routing.engine import Engine
from tests.support.engine import Live, Stream, redis_now_ms, score


async def test_a_closed_queue_holds_its_work_until_the_opening_timer(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=2)
    now = await redis_now_ms(engine)
    opening = now + 300
    await engine.queue_rules(
        "q", overflow=[], hours=[(opening, opening + 3_600_000)], until_ms=now + 86_400_000
    )
    res = await engine.enqueue("i1", "q", "chat", 0, now, now)
    assert res.status == "waiting" and res.position == 1
    # the agent becoming free does not take it either (the agent-side match skips a closed queue)
    await live.set_state("a", "away")
    await live.set_state("a", "available")
    assert await live.offers_of("a") == {}
    assert (await live.timers())["h:q"] == opening
    await asyncio.sleep(0.35)
    fired = await engine.fire_timers()
    assert ("h", "q", "1") in fired
    assert set(await live.offers_of("a")) == {"i1"}
    # no hours (or past the horizon): always open
    await engine.queue_rules("q", overflow=[], hours=None, until_ms=0)
    assert "h:q" not in await live.timers()
    await engine.enqueue("i2", "q", "chat", 0, now, now)
    assert set(await live.offers_of("a")) == {"i1", "i2"}
    assert "enqueued" in await stream.types()


async def test_a_timed_overflow_keeps_the_rank_score_in_the_target(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("front")
    await live.queue("backup")
    now = await redis_now_ms(engine)
    await engine.queue_rules("front", overflow=[(100, "backup"), (100_000, "last")], hours=None, until_ms=0)
    await engine.enqueue("old", "front", "chat", 0, now, now)
    await engine.enqueue("new", "backup", "chat", 0, now + 50, now + 50)
    assert (await live.timers())["f:old"] == now + 100
    await stream.read()
    await asyncio.sleep(0.15)
    assert ("f", "old", "front,backup") in await engine.fire_timers()
    assert await live.waiting("front") == []
    assert await live.waiting("backup") == [("old", score(0, now)), ("new", score(0, now + 50))]
    # the next rule of the list it follows (front's) is timed
    assert (await live.timers())["f:old"] == now + 100_000
    [moved] = [e for e in await stream.read() if e.type == "overflowed"]
    assert moved.data["from"] == "front" and moved.data["queue"] == "backup"
    assert moved.data["why"] == "overflowed from front after 0.1 s" and moved.data["reason"] == "overflow"
    live_item = await engine.interaction_live("old")
    assert (live_item["q"], live_item["ofrom"], live_item["ovk"]) == ("backup", "front", "1")
    # offered in backup, the why says how it came there
    await live.agent("b", queues=["backup"], chat=1)
    offer = next(iter((await live.offers_of("b")).values()))
    why = (await engine.offer(offer))["why"]
    assert '"overflow":"overflowed from front after 0.1 s"' in why


async def test_a_move_keeps_the_place_and_refuses_work_that_is_not_waiting(
    engine: Engine, live: Live
) -> None:
    await live.queue("front")
    await live.queue("billing")
    now = await redis_now_ms(engine)
    await engine.enqueue("old", "front", "chat", 0, now, now)
    await engine.enqueue("new", "billing", "chat", 0, now + 10, now + 10)
    assert await engine.move("old", "billing") == ("moved", "front")
    assert await live.waiting("billing") == [("old", score(0, now)), ("new", score(0, now + 10))]
    assert await engine.move("old", "billing") == ("same", "billing")
    await live.agent("m", queues=["billing"], chat=1)
    assert await engine.move("old", "front") == ("offered", "billing")
    assert await live.waiting("front") == []
    assert await engine.move("ghost", "front") == ("", "")
