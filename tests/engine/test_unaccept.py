"""unaccept.lua: an accept the record could not follow is taken back: the interaction waits again at its
original place, the agent's capacity frees, and the agent is not excluded."""

from __future__ import annotations

import pytest

from router.errors import NotFound, NotReady
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream


async def test_back_to_its_original_place_with_capacity_freed(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    first = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert first.offer_id
    await engine.accept("a", first.offer_id)
    await live.set_state("a", "away")  # not matched again while we look
    await engine.enqueue("i2", "q", "chat", 0, T0 + 5, T0 + 5)
    await stream.read()
    await engine.unaccept("a", "i1")
    assert await engine.position("q", "i1") == 1, "i1 keeps its place ahead of later arrivals"
    assert await engine.position("q", "i2") == 2
    assert await engine.agent_work("a") == []
    assert (await live.load("a"))["chat"] == 0
    assert (await engine.interaction_live("i1"))["st"] == "waiting"
    assert await live.excluded("i1") == set(), "the agent did not refuse the work"
    events = await stream.read()
    assert [e.type for e in events] == ["requeued"]
    assert events[0].data == {"interaction_id": "i1", "queue": "q"}


async def test_only_work_the_agent_holds(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    with pytest.raises(NotFound):
        await engine.unaccept("a", "i1")  # offered, not accepted
    holder = "a" if res.offer_id in [o["offer_id"] for o in await engine.agent_offers("a")] else "b"
    other = "b" if holder == "a" else "a"
    await engine.accept(holder, res.offer_id or "")
    with pytest.raises(NotFound):
        await engine.unaccept(other, "i1")
    await engine.complete(holder, "i1", 60_000)
    with pytest.raises(NotFound):
        await engine.unaccept(holder, "i1")  # in wrap-up: the record already followed


async def test_refused_while_the_index_is_rebuilt(engine: Engine) -> None:
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.unaccept("a", "i1")
