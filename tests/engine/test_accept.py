"""accept.lua: the agent takes its offer; the interaction is assigned to it and keeps its capacity."""

from __future__ import annotations

import pytest

from router.errors import NotReady, OfferGone
from router.routing.engine import Accepted, Engine
from tests.support.engine import T0, Live, Stream


async def offered(engine: Engine, live: Live) -> str:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], state="away", chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.offer_id
    return res.offer_id


async def test_assigns_the_interaction(engine: Engine, live: Live, stream: Stream) -> None:
    offer = await offered(engine, live)
    await stream.read()
    assert await engine.accept("a", offer) == Accepted("i1", callback=False)
    assert await engine.offer(offer) == {}
    assert await live.offers_of("a") == {}
    assert await engine.agent_work("a") == ["i1"]
    live_i = await engine.interaction_live("i1")
    assert (live_i["st"], live_i["agent"], "offer" in live_i) == ("assigned", "a", False)
    assert (await live.load("a"))["chat"] == 1  # the capacity stays held
    assert await live.timers() == {}  # the offer's deadline is gone
    events = await stream.read()
    assert [(e.type, e.data) for e in events] == [
        ("assigned", {"interaction_id": "i1", "agent_id": "a", "queue": "q", "offer_id": offer})
    ]


async def test_an_offer_that_is_gone(engine: Engine, live: Live, stream: Stream) -> None:
    offer = await offered(engine, live)
    await engine.accept("a", offer)
    await stream.read()
    with pytest.raises(OfferGone, match="no longer open"):
        await engine.accept("a", offer)
    with pytest.raises(OfferGone):
        await engine.accept("a", "o-unknown")
    assert await stream.read() == []


async def test_another_agents_offer(engine: Engine, live: Live, stream: Stream) -> None:
    offer = await offered(engine, live)
    await stream.read()
    with pytest.raises(OfferGone, match="not yours"):
        await engine.accept("b", offer)
    assert (await engine.offer(offer))["a"] == "a"
    assert await engine.agent_work("b") == []
    assert await stream.read() == []


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    offer = await offered(engine, live)
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.accept("a", offer)
    assert (await engine.offer(offer))["a"] == "a"
