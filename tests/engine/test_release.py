"""release.lua: the agent's hold on work ends now (wrap-up ended early, transferred): capacity frees
and the agent is matched again."""

from __future__ import annotations

import pytest

from router.errors import NotFound, NotReady
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream


async def held(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.accept("a", res.offer_id or "")


async def test_ends_wrapup_early(engine: Engine, live: Live, stream: Stream) -> None:
    await held(engine, live)
    await engine.complete("a", "i1", 60_000)
    await engine.enqueue("next", "q", "chat", 0, T0 + 1, T0 + 1)
    await stream.read()
    await engine.release("a", "i1", "wrapup_ended")
    assert "w:i1" not in await live.timers()
    assert await engine.interaction_live("i1") == {}
    assert await engine.agent_work("a") == []
    assert set(await live.offers_of("a")) == {"next"}
    events = await stream.read()
    assert [e.type for e in events] == ["work_ended", "offer"]
    assert events[0].data == {"interaction_id": "i1", "agent_id": "a", "queue": "q", "reason": "wrapup_ended"}


async def test_a_transfer_releases_assigned_work(engine: Engine, live: Live, stream: Stream) -> None:
    await held(engine, live)
    await stream.read()
    await engine.release("a", "i1", "transferred")
    assert (await live.load("a"))["chat"] == 0
    events = await stream.read()
    assert [(e.type, e.data["reason"]) for e in events] == [("work_ended", "transferred")]


async def test_work_not_held_by_the_agent(engine: Engine, live: Live, stream: Stream) -> None:
    await held(engine, live)
    await live.agent("b", queues=["q"], chat=1)
    await stream.read()
    with pytest.raises(NotFound):
        await engine.release("b", "i1", "transferred")
    assert await engine.agent_work("a") == ["i1"]
    assert await stream.read() == []


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await held(engine, live)
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.release("a", "i1", "transferred")
    assert await engine.agent_work("a") == ["i1"]
