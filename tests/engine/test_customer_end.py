"""customer_end.lua: the customer hung up or left. Waiting or offered: it is gone (abandoned) and an
offer is revoked; assigned or in wrap-up: the agent keeps it until it completes."""

from __future__ import annotations

import pytest

from router.errors import NotReady
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream


async def test_waiting_is_abandoned(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await engine.enqueue("i1", "q", "chat", 0, T0, T0, exclude="x")
    await stream.read()
    assert await engine.customer_end("i1") == "waiting"
    assert await live.waiting("q") == []
    assert await engine.redis.zcard(engine.keys.queue_age("q")) == 0
    assert await engine.interaction_live("i1") == {}
    assert await live.excluded("i1") == set()
    events = await stream.read()
    assert [(e.type, e.data) for e in events] == [("abandoned", {"interaction_id": "i1", "queue": "q"})]


async def test_offered_revokes_the_offer_and_is_not_requeued(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await live.set_state("a", "away")
    await engine.enqueue("i2", "q", "chat", 0, T0 + 1, T0 + 1)
    await live.set_state("a", "available")
    await stream.read()
    assert await engine.customer_end("i1") == "offered"
    assert await engine.offer(res.offer_id or "") == {}
    assert await engine.interaction_live("i1") == {}
    assert set(await live.offers_of("a")) == {"i2"}  # the freed capacity is used at once
    assert f"o:{res.offer_id}" not in await live.timers()
    events = await stream.read()
    assert [e.type for e in events] == ["offer_revoked", "offer", "abandoned"]
    assert events[0].data == {
        "offer_id": res.offer_id,
        "interaction_id": "i1",
        "agent_id": "a",
        "reason": "customer_left",
    }


@pytest.mark.parametrize("wrapup", [False, True])
async def test_held_work_stays_with_the_agent(
    engine: Engine, live: Live, stream: Stream, wrapup: bool
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.accept("a", res.offer_id or "")
    if wrapup:
        await engine.complete("a", "i1", 60_000)
    await stream.read()
    assert await engine.customer_end("i1") == ("wrapup" if wrapup else "assigned")
    assert (await engine.interaction_live("i1"))["st"] == ("wrapup" if wrapup else "assigned")
    assert await engine.agent_work("a") == ["i1"]
    events = await stream.read()
    assert [(e.type, e.data) for e in events] == [
        ("customer_left", {"interaction_id": "i1", "agent_id": "a", "queue": "q"})
    ]


async def test_unknown_is_empty(engine: Engine, stream: Stream) -> None:
    assert await engine.customer_end("nobody") == ""
    assert await stream.read() == []


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.customer_end("i1")
    assert (await engine.interaction_live("i1"))["st"] == "waiting"
