"""complete.lua: the agent finishes its work; wrap-up holds the capacity until it ends, then the agent
is matched again."""

from __future__ import annotations

import pytest

from router.errors import Conflict, NotFound, NotReady
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream, redis_now_ms


async def assigned(engine: Engine, live: Live, iid: str = "i1") -> None:
    res = await engine.enqueue(iid, "q", "chat", 0, T0, T0)
    assert res.offer_id
    await engine.accept("a", res.offer_id)


async def test_without_wrapup_frees_the_capacity_at_once(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await assigned(engine, live)
    await engine.enqueue("next", "q", "chat", 0, T0 + 1, T0 + 1)  # waits: the agent is full
    await stream.read()
    assert await engine.complete("a", "i1", 0) == 0
    assert await engine.interaction_live("i1") == {}
    assert await engine.agent_work("a") == []
    assert set(await live.offers_of("a")) == {"next"}  # matched again at once
    assert (await live.load("a"))["chat"] == 1
    events = await stream.read()
    assert [e.type for e in events] == ["work_ended", "offer"]
    assert events[0].data == {"interaction_id": "i1", "agent_id": "a", "queue": "q", "reason": "completed"}


async def test_wrapup_holds_the_capacity_until_it_ends(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await assigned(engine, live)
    await engine.enqueue("next", "q", "chat", 0, T0 + 1, T0 + 1)
    await stream.read()
    now = await redis_now_ms(engine)
    until = await engine.complete("a", "i1", 60_000)
    assert now + 60_000 <= until < now + 61_000
    live_i = await engine.interaction_live("i1")
    assert (live_i["st"], live_i["wrapup_until"]) == ("wrapup", str(until))
    assert await live.timers() == {"w:i1": until}
    assert await engine.agent_work("a") == ["i1"]
    assert (await live.load("a"))["chat"] == 1
    assert await engine.match_agent("a") == 0  # nothing while in wrap-up
    assert [i for i, _ in await live.waiting("q")] == ["next"]
    events = await stream.read()
    assert [(e.type, e.data) for e in events] == [
        ("wrapup_started", {"interaction_id": "i1", "agent_id": "a", "until_ms": until, "queue": "q"})
    ]


async def test_work_not_held_by_the_agent(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], chat=1)
    await assigned(engine, live)
    await stream.read()
    with pytest.raises(NotFound):
        await engine.complete("b", "i1", 0)
    with pytest.raises(NotFound):
        await engine.complete("a", "unknown", 0)
    assert (await engine.interaction_live("i1"))["st"] == "assigned"
    assert await stream.read() == []


async def test_twice_is_a_conflict(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await assigned(engine, live)
    until = await engine.complete("a", "i1", 60_000)
    await stream.read()
    with pytest.raises(Conflict, match="already in wrap-up"):
        await engine.complete("a", "i1", 60_000)
    assert await live.timers() == {"w:i1": until}
    assert await stream.read() == []


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await assigned(engine, live)
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.complete("a", "i1", 0)
    assert await engine.agent_work("a") == ["i1"]


async def test_uncomplete_takes_the_wrapup_back_exactly(engine: Engine, live: Live, stream: Stream) -> None:
    """The record could not follow: the interaction is assigned to the agent again, the wrap-up timer
    gone; the live index is as before the complete but for the event stream, which says so."""
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await assigned(engine, live)
    before = await live.dump()
    await stream.read()
    until = await engine.complete("a", "i1", 60_000)
    assert await live.dump() != before
    await engine.uncomplete("a", "i1", until)
    assert await live.dump() == before
    events = await stream.read()
    assert [(e.type, e.data) for e in events][1:] == [
        ("wrapup_undone", {"interaction_id": "i1", "agent_id": "a", "queue": "q"})
    ]
    assert await engine.complete("a", "i1", 0) == 0, "and it can be completed again"


async def test_uncomplete_only_the_wrapup_it_started(engine: Engine, live: Live) -> None:
    """A wrap-up that already ended (its timer fired), one of another end, or work held by another agent
    is not taken back."""
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await assigned(engine, live)
    until = await engine.complete("a", "i1", 60_000)
    with pytest.raises(NotFound):
        await engine.uncomplete("a", "i1", until + 1)
    with pytest.raises(NotFound):
        await engine.uncomplete("b", "i1", until)
    await engine.release("a", "i1", "wrapup_ended")
    with pytest.raises(NotFound):
        await engine.uncomplete("a", "i1", until)
    assert await engine.interaction_live("i1") == {}
