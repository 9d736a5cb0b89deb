"""timers.lua: what is due fires: an offer timeout requeues at the original place (the agent made not
ready, reason missed, not excluded),
a wrap-up end frees capacity, an expired reconnect grace puts held work back in its queue."""

from __future__ import annotations

import asyncio

import pytest

from router.errors import NotReady
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream, score


async def fire_after(engine: Engine, seconds: float) -> list[tuple[str, str, str]]:
    await asyncio.sleep(seconds)
    return await engine.fire_timers()


async def test_nothing_due_fires_nothing(engine: Engine, live: Live) -> None:
    await live.queue("q", timeout_ms=60_000)
    await live.agent("a", queues=["q"], chat=1)
    await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert await engine.fire_timers() == []
    assert set(await live.offers_of("a")) == {"i1"}


async def test_an_offer_timeout_requeues_at_the_original_place(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q", timeout_ms=30)
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 3, T0, T0)
    await engine.enqueue("i2", "q", "chat", 0, T0 + 1, T0 + 1)
    await stream.read()
    assert await fire_after(engine, 0.05) == [("o", "i1", "a")]
    assert await engine.offer(res.offer_id or "") == {}
    # the agent is not excluded, but not ready: away with reason missed, offered nothing more
    assert await live.excluded("i1") == set()
    agent = await engine.agent_live("a")
    assert (agent["state"], agent["reason"], agent["missed"]) == ("away", "missed", "1")
    assert await live.offers_of("a") == {}
    assert await live.waiting("q") == [("i1", score(3, T0)), ("i2", score(0, T0 + 1))]
    events = await stream.read()
    assert [e.type for e in events] == ["offer_revoked", "requeued", "agent_state", "agent"]
    assert events[0].data["reason"] == "timeout"
    # the presence history records the change (agent_state) and the wallboard hears it (agent)
    assert (events[2].data["state"], events[2].data["reason"]) == ("away", "missed")
    assert (events[3].data["state"], events[3].data["reason"]) == ("away", "missed")
    # back to available: the same interaction comes back at once (the best of the two)
    await live.set_state("a", "available")
    assert set(await live.offers_of("a")) == {"i1"}
    assert (await engine.agent_live("a"))["reason"] == ""


async def test_an_offer_timeout_goes_to_the_next_agent(engine: Engine, live: Live) -> None:
    await live.queue("q", timeout_ms=30)
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], state="away", chat=1)
    await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await live.set_state("b", "available")
    await fire_after(engine, 0.05)
    assert set(await live.offers_of("b")) == {"i1"}


async def test_an_accepted_offer_does_not_time_out(engine: Engine, live: Live) -> None:
    await live.queue("q", timeout_ms=30)
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.accept("a", res.offer_id or "")
    assert await fire_after(engine, 0.05) == []
    assert (await engine.interaction_live("i1"))["st"] == "assigned"


async def test_the_end_of_wrapup_frees_capacity(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.accept("a", res.offer_id or "")
    await engine.complete("a", "i1", 30)
    await engine.enqueue("next", "q", "chat", 0, T0 + 1, T0 + 1)
    assert await engine.match_agent("a") == 0
    await stream.read()
    assert await fire_after(engine, 0.05) == [("w", "i1", "a")]
    assert await engine.interaction_live("i1") == {}
    assert set(await live.offers_of("a")) == {"next"}
    events = await stream.read()
    assert [e.type for e in events] == ["work_ended", "offer"]
    assert events[0].data["reason"] == "wrapup_ended"


async def test_an_expired_grace_requeues_assigned_work(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=2)
    await live.agent("b", queues=["q"], state="away", chat=2)
    for iid, venq in (("i1", T0), ("i2", T0 + 1)):
        res = await engine.enqueue(iid, "q", "chat", 0, venq, venq)
        await engine.accept("a", res.offer_id or "")
    await engine.complete("a", "i2", 60_000)  # in wrap-up: it just ends
    await live.disconnect("a", grace_ms=30)
    await stream.read()
    assert await fire_after(engine, 0.05) == [("g", "a", "i1")]
    assert await live.waiting("q") == [("i1", score(0, T0))]
    assert await engine.interaction_live("i2") == {}
    assert await engine.agent_work("a") == []
    assert await live.load("a") == {"voice": 0, "chat": 0, "email": 0, "social": 0, "sms": 0}
    assert await live.timers() == {}  # the wrap-up timer went with it
    events = await stream.read()
    assert [e.type for e in events] == ["requeued", "grace_expired"]
    assert events[1].data == {"agent_id": "a", "requeued": ["i1"]}
    await live.set_state("b", "available")
    assert set(await live.offers_of("b")) == {"i1"}


async def test_a_reconnect_within_the_grace_keeps_the_work(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.accept("a", res.offer_id or "")
    await live.disconnect("a", grace_ms=30)
    await live.connect("a", "available")
    assert await fire_after(engine, 0.05) == []
    assert await engine.agent_work("a") == ["i1"]


async def test_fires_at_most_the_limit(engine: Engine, live: Live) -> None:
    await live.queue("q", timeout_ms=10)
    await live.agent("a", queues=["q"], chat=3)
    for n in range(3):
        await engine.enqueue(f"i{n}", "q", "chat", 0, T0 + n, T0 + n)
    await asyncio.sleep(0.03)
    assert len(await engine.fire_timers(limit=2)) == 2
    assert len(await engine.fire_timers(limit=2)) == 1


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await live.queue("q", timeout_ms=10)
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.redis.delete(engine.keys.built)
    await asyncio.sleep(0.03)
    with pytest.raises(NotReady):
        await engine.fire_timers()
    assert (await engine.offer(res.offer_id or ""))["a"] == "a"


async def test_an_expired_grace_with_nothing_to_requeue_says_so_as_a_list(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.accept("a", res.offer_id or "")
    await engine.complete("a", "i1", 60_000)
    await live.disconnect("a", grace_ms=30)
    await stream.read()
    assert await fire_after(engine, 0.05) == [("g", "a", "")]
    events = await stream.read()
    assert [(e.type, e.data) for e in events] == [("grace_expired", {"agent_id": "a", "requeued": []})]
