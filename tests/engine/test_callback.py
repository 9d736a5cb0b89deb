"""callback.lua, callback_result.lua and the ``b:`` timer: a callback keeps its rank score in its queue;
held back, it is out of the queue's sets (not matchable) until the timer puts it back at the same score,
atomically; a callback's removal is never an abandon; a rebuilt index restores it held back."""

from __future__ import annotations

import pytest

from router.errors import Conflict, NotFound
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream, redis_now_ms, score


async def test_a_callback_keeps_its_score_and_not_before_holds_it_back(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await engine.enqueue("i1", "q", "voice", 0, T0, T0)
    await engine.enqueue("i2", "q", "voice", 0, T0 + 1, T0 + 1)
    status, offer = await engine.callback("i1", "+14155550100", 0)
    assert (status, offer) == ("waiting", None)
    assert await live.waiting("q") == [("i1", score(0, T0)), ("i2", score(0, T0 + 1))]
    assert (await engine.interaction_live("i1"))["cb"] == "+14155550100"

    until = await redis_now_ms(engine) + 60_000
    status, _ = await engine.callback("i1", "+14155550100", until)
    assert status == "held"
    assert await live.waiting("q") == [("i2", score(0, T0 + 1))], "held back: out of the queue"
    assert (await live.timers())["b:i1"] == until
    # an agent who comes now gets the one behind it
    await live.agent("a", queues=["q"], voice=1)
    assert set(await live.offers_of("a")) == {"i2"}
    events = await stream.read()
    assert [e.type for e in events if e.type.startswith("callback")] == ["callback_requested"] * 2


async def test_the_timer_releases_it_at_the_same_score_and_matches_it(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await engine.enqueue("i1", "q", "voice", 0, T0, T0)
    soon = await redis_now_ms(engine) + 1
    await engine.callback("i1", "+14155550100", soon + 30)
    await engine.enqueue("i2", "q", "voice", 0, T0 + 5, T0 + 5)
    await engine.redis.zadd(engine.keys.timers, {"b:i1": 0})  # due now
    fired = await engine.fire_timers()
    assert fired == [("b", "i1", "")]
    assert await live.waiting("q") == [("i1", score(0, T0)), ("i2", score(0, T0 + 5))]
    assert (await engine.interaction_live("i1"))["st"] == "waiting"
    assert "callback_released" in await stream.types()


async def test_no_answer_frees_the_agent_and_holds_it_back_then_the_last_attempt_ends_it(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await engine.enqueue("i1", "q", "voice", 0, T0, T0)
    await engine.callback("i1", "+14155550100", 0)
    await live.agent("a", queues=["q"], voice=1)
    offers = await live.offers_of("a")
    assert list(offers) == ["i1"]
    assert (await engine.accept("a", offers["i1"])).callback, "the accept says it is a callback"
    await engine.enqueue("i2", "q", "voice", 0, T0 + 1, T0 + 1)
    await stream.read()

    status, at = await engine.callback_result("a", "i1", "no_answer", 60_000, 1)
    assert status == "retry" and at > 0
    live_i1 = await engine.interaction_live("i1")
    assert live_i1["st"] == "held" and "agent" not in live_i1
    offers = await live.offers_of("a")
    assert list(offers) == ["i2"], "the agent is free and matched at once"
    assert (await live.timers())["b:i1"] == at
    types = await stream.types()
    assert "callback_result" in types and "work_ended" in types and "abandoned" not in types

    # released while the agent is busy: back at its original score, ahead of anything later
    await engine.redis.zadd(engine.keys.timers, {"b:i1": 0})
    await engine.fire_timers()
    await engine.enqueue("i3", "q", "voice", 0, T0 + 2, T0 + 2)
    assert await live.waiting("q") == [("i1", score(0, T0)), ("i3", score(0, T0 + 2))]
    assert not (await engine.accept("a", offers["i2"])).callback
    await engine.release("a", "i2", "completed")
    offers = await live.offers_of("a")
    assert list(offers) == ["i1"], "the retry comes before the later caller"
    await engine.accept("a", offers["i1"])
    await stream.read()
    status, _ = await engine.callback_result("a", "i1", "busy", None, 2)
    assert status == "ended"
    assert await engine.interaction_live("i1") == {}
    offers = await live.offers_of("a")
    assert list(offers) == ["i3"]
    types = await stream.types()
    assert "abandoned" not in types and "work_ended" in types


async def test_refusals(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], voice=1)
    res = await engine.enqueue("i1", "q", "voice", 0, T0, T0)
    with pytest.raises(Conflict):
        await engine.callback("i1", "+14155550100", 0)  # offered: not waiting
    await engine.accept("a", res.offer_id or "")
    with pytest.raises(Conflict):
        await engine.callback("i1", "+14155550100", 0)  # assigned
    with pytest.raises(Conflict):
        await engine.callback_result("a", "i1", "no_answer", 1000, 1)  # not a callback
    with pytest.raises(NotFound):
        await engine.callback_result("b", "i1", "no_answer", 1000, 1)  # not held by b
    assert (await engine.interaction_live("i1"))["st"] == "assigned"


async def test_removing_a_held_callback_is_no_abandon(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await engine.enqueue("i1", "q", "voice", 0, T0, T0)
    await engine.callback("i1", "+14155550100", await redis_now_ms(engine) + 60_000)
    await stream.read()
    assert await engine.customer_end("i1") == "held"
    assert await engine.interaction_live("i1") == {}
    assert "b:i1" not in await live.timers()
    assert [e.type for e in await stream.read()] == ["callback_cancelled"]


async def test_restore_brings_back_a_held_callback(engine: Engine, live: Live) -> None:
    await live.queue("q")
    until = await redis_now_ms(engine) + 60_000
    item = {
        "id": "i1",
        "q": "q",
        "ch": "voice",
        "score": score(0, T0),
        "arr": T0,
        "st": "waiting",
        "agent": "",
        "wrapup_until_ms": 0,
        "venq": T0,
        "avoid": "",
        "ix": {},
        "cb": "+14155550100",
        "held_until": until,
    }
    assert await engine.restore([item], 60_000) == 1
    live_i1 = await engine.interaction_live("i1")
    assert (live_i1["st"], live_i1["cb"], live_i1["score"]) == ("held", "+14155550100", str(score(0, T0)))
    assert await live.waiting("q") == []
    assert (await live.timers())["b:i1"] == until
