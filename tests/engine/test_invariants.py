"""The routing invariants that hold at the engine layer, each across the scripts that touch it:
priority then arrival, position kept on every requeue, capacity, voice blocking, presence fencing."""

from __future__ import annotations

import asyncio

import pytest

from router.routing.engine import Engine
from tests.support.engine import T0, Live, score


async def test_work_is_offered_by_priority_then_arrival(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], state="away", chat=1)
    arrivals = [("n1", 0, 1), ("p1", 20, 5), ("n2", 0, 2), ("p2", 20, 6), ("m1", 10, 0)]
    for iid, priority, t in arrivals:
        await engine.enqueue(iid, "q", "chat", priority, T0 + t, T0 + t)
    await live.set_state("a", "available")
    order = []
    for _ in arrivals:
        (iid, offer_id), *_ = (await live.offers_of("a")).items()
        order.append(iid)
        await engine.accept("a", offer_id)
        await engine.complete("a", iid, 0)  # frees the capacity: the next best is offered
    assert order == ["p1", "p2", "m1", "n1", "n2"]


@pytest.mark.parametrize("how", ["reject", "timeout", "disconnect", "grace"])
async def test_a_requeue_keeps_the_original_score(engine: Engine, live: Live, how: str) -> None:
    await live.queue("q", timeout_ms=30 if how == "timeout" else 60_000)
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 4, T0, T0 + 500)
    assert res.offer_id
    # later arrivals with the same priority: i1 must come back ahead of them
    await engine.enqueue("i2", "q", "chat", 4, T0 + 1, T0 + 1)
    if how == "reject":
        await engine.reject("a", res.offer_id)
    elif how == "timeout":
        await asyncio.sleep(0.05)
        await engine.fire_timers()
    elif how == "disconnect":
        await live.disconnect("a")
    else:
        await engine.accept("a", res.offer_id)
        await live.disconnect("a", grace_ms=20)
        await asyncio.sleep(0.04)
        await engine.fire_timers()
    assert await engine.redis.zscore(engine.keys.queue("q"), "i1") == score(4, T0)
    assert await engine.redis.zscore(engine.keys.queue_age("q"), "i1") == T0 + 500
    waiting = [i for i, _ in await live.waiting("q")]
    assert waiting[0] == "i1"


async def test_capacity_is_never_exceeded(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=2, email=1)
    for n in range(5):
        await engine.enqueue(f"c{n}", "q", "chat", 0, T0 + n, T0 + n)
        await engine.enqueue(f"e{n}", "q", "email", 0, T0 + n, T0 + n)
    assert await live.load("a") == {"voice": 0, "chat": 2, "email": 1, "social": 0, "sms": 0}
    for offer_id in (await live.offers_of("a")).values():
        await engine.accept("a", offer_id)
    assert await engine.match_agent("a") == 0
    await live.set_state("a", "away")
    await live.set_state("a", "available")
    assert len(await engine.agent_work("a")) == 3
    assert await live.offers_of("a") == {}
    assert await live.load("a") == {"voice": 0, "chat": 2, "email": 1, "social": 0, "sms": 0}


async def test_voice_blocks_the_other_channels(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], voice=1, chat=2)
    await engine.enqueue("call", "q", "voice", 0, T0, T0)
    assert (await engine.enqueue("chat", "q", "chat", 0, T0 + 1, T0 + 1)).status == "waiting"
    res = await engine.enqueue("call", "q", "voice", 0, T0, T0)
    await engine.accept("a", res.offer_id or "")
    assert await engine.match_agent("a") == 0  # still on the call
    await engine.complete("a", "call", 0)  # the call ends: the chat is offered
    assert set(await live.offers_of("a")) == {"chat"}
    # and a chat in hand keeps calls away
    assert (await engine.enqueue("call2", "q", "voice", 0, T0 + 2, T0 + 2)).status == "waiting"


async def test_an_agent_may_take_calls_beside_other_work(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], voice_blocks=False, voice=1, chat=2)
    assert (await engine.enqueue("chat", "q", "chat", 0, T0, T0)).status == "offered"
    assert (await engine.enqueue("call", "q", "voice", 0, T0 + 1, T0 + 1)).status == "offered"
    assert (await engine.enqueue("chat2", "q", "chat", 0, T0 + 2, T0 + 2)).status == "offered"
    assert await live.load("a") == {"voice": 1, "chat": 2, "email": 0, "social": 0, "sms": 0}


async def test_only_a_connected_available_agent_is_offered_work(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("away", queues=["q"], state="away", chat=1)
    await live.agent("gone", queues=["q"], chat=1)
    await live.disconnect("gone")  # its last state is still "available"
    await live.agent("never", queues=["q"], state=None, chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.status == "waiting"
    for agent in ("away", "gone", "never"):
        assert await engine.match_agent(agent) == 0
    await live.set_state("away", "available")
    assert set(await live.offers_of("away")) == {"i1"}
