"""restore.lua: interactions from PostgreSQL are loaded into the live index (a rebuild after a flush,
or the reconciler repairing a gap): waiting ones at their rank, without matching; held ones restore
the agent's load and timers. Items already present are left alone."""

from __future__ import annotations

from typing import Any

from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream, redis_now_ms, score


def item(
    iid: str, st: str, *, agent: str = "", ch: str = "chat", venq: int = T0, **extra: Any
) -> dict[str, Any]:
    return {
        "id": iid,
        "q": "q",
        "ch": ch,
        "score": score(0, venq),
        "arr": venq,
        "st": st,
        "agent": agent,
        **extra,
    }


async def test_waiting_items_join_their_queue_without_matching(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await stream.read()
    added = await engine.restore(
        [item("late", "waiting", venq=T0 + 9), item("early", "waiting", venq=T0)], 60_000
    )
    assert added == 2
    assert await live.waiting("q") == [("early", score(0, T0)), ("late", score(0, T0 + 9))]
    assert await engine.redis.zscore(engine.keys.queue_age("q"), "late") == T0 + 9
    assert (await engine.interaction_live("early"))["st"] == "waiting"
    assert await live.offers_of("a") == {}  # matching waits for the index to be declared built
    assert await stream.read() == []


async def test_held_items_restore_load_and_timers(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("on", queues=["q"], chat=2)
    await live.agent("off", queues=["q"], state=None, chat=2)
    now = await redis_now_ms(engine)
    added = await engine.restore(
        [
            item("w1", "wrapup", agent="on", wrapup_until_ms=now + 5_000),
            item("a1", "assigned", agent="on"),
            item("a2", "assigned", agent="off"),
        ],
        30_000,
    )
    assert added == 3
    assert await engine.agent_work("on") == ["a1", "w1"]
    assert (await live.load("on"))["chat"] == 2
    assert (await live.load("off"))["chat"] == 1
    timers = await live.timers()
    assert timers["w:w1"] == now + 5_000
    assert now + 30_000 <= timers["g:off"] < now + 31_000  # not connected: the reconnect grace runs
    assert "g:on" not in timers
    live_a1 = await engine.interaction_live("a1")
    assert (live_a1["st"], live_a1["agent"]) == ("assigned", "on")


async def test_present_items_are_left_alone(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await engine.enqueue("i1", "q", "chat", 7, T0 + 1, T0 + 1)
    assert await engine.restore([item("i1", "waiting", venq=T0)], 60_000) == 0
    assert await live.waiting("q") == [("i1", score(7, T0 + 1))]


async def test_nothing_to_restore(engine: Engine) -> None:
    assert await engine.restore([], 60_000) == 0


async def test_runs_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await engine.redis.delete(engine.keys.built)
    assert await engine.restore([item("i1", "waiting")], 60_000) == 1
    assert await live.waiting("q") == [("i1", score(0, T0))]
