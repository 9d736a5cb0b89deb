"""reject.lua: a declined offer goes back to its original place, not to that agent again before the
queue's cooldown ends; rematch.lua
then offers it to the next free agent and matches the agent again. unreject.lua takes a reject back
exactly (the record could not be written), unless the live index moved on."""

from __future__ import annotations

import pytest

from router.errors import Conflict, NotReady, OfferGone
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream, redis_now_ms, score


async def test_requeued_at_its_original_place_and_the_agent_excluded(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    first = await engine.enqueue("first", "q", "chat", 0, T0, T0)
    await engine.enqueue("second", "q", "chat", 0, T0 + 5, T0 + 5)
    assert first.offer_id
    await stream.read()
    rejected = await engine.reject("a", first.offer_id)
    assert rejected.interaction_id == "first"
    # the rejected one is back ahead of the later arrival, with the very same score; nothing matched yet
    assert await live.waiting("q") == [("first", score(0, T0)), ("second", score(0, T0 + 5))]
    assert await live.excluded("first") == {"a"}
    assert await live.offers_of("a") == {}
    # ...and once the reject is recorded the agent, free again, is offered the next one it may take
    assert await engine.rematch("first", "a") == 1
    assert await live.waiting("q") == [("first", score(0, T0))]
    assert set(await live.offers_of("a")) == {"second"}
    assert (await live.load("a"))["chat"] == 1
    events = await stream.read()
    assert [e.type for e in events] == ["offer_revoked", "requeued", "offer"]
    assert events[0].data == {
        "offer_id": first.offer_id,
        "interaction_id": "first",
        "agent_id": "a",
        "reason": "rejected",
        "excluded_until": rejected.excluded_until_ms,
    }
    assert events[1].data == {"interaction_id": "first", "queue": "q"}
    assert events[2].data["interaction_id"] == "second"


async def test_offered_to_the_next_free_agent(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.offer_id and (await engine.offer(res.offer_id))["a"] == "a"
    await engine.reject("a", res.offer_id)
    await engine.rematch("i1", "a")
    assert set(await live.offers_of("b")) == {"i1"}
    assert await live.offers_of("a") == {}
    assert (await live.load("a"))["chat"] == 0


async def test_the_rejecting_agent_is_not_offered_it_again_during_the_cooldown(
    engine: Engine, live: Live
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.offer_id
    await engine.reject("a", res.offer_id)
    await live.set_state("a", "away")
    await live.set_state("a", "available")
    assert await engine.match_agent("a") == 0
    await live.agent("b", queues=["q"], chat=1)
    assert set(await live.offers_of("b")) == {"i1"}


async def test_an_offer_that_is_gone_or_not_yours(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], state="away", chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.offer_id
    await stream.read()
    with pytest.raises(OfferGone):
        await engine.reject("b", res.offer_id)
    with pytest.raises(OfferGone):
        await engine.reject("a", "o-unknown")
    assert (await engine.offer(res.offer_id))["a"] == "a"
    assert await stream.read() == []


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.reject("a", res.offer_id or "")
    assert (await engine.offer(res.offer_id or ""))["a"] == "a"


async def test_unreject_brings_the_very_offer_back(engine: Engine, live: Live, stream: Stream) -> None:
    """Everything the reject changed in the live index is as it was before, but for the event stream,
    which says so with an ``offer`` event carrying the same offer id and deadline."""
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.enqueue("i2", "q", "chat", 0, T0 + 5, T0 + 5)
    assert res.offer_id
    before = await live.dump()
    offer = await engine.offer(res.offer_id)
    await stream.read()
    await engine.reject("a", res.offer_id)
    assert await live.dump() != before
    await engine.unreject("a", res.offer_id, "i1", int(offer["deadline"]), offer["why"])
    assert await live.dump() == before
    events = await stream.read()
    assert [e.type for e in events] == ["offer_revoked", "requeued", "offer"]
    assert events[2].data == {
        "offer_id": res.offer_id,
        "interaction_id": "i1",
        "agent_id": "a",
        "deadline": int(offer["deadline"]),
        "queue": "q",
        "channel": "chat",
    }


@pytest.mark.parametrize("moved", ["offered_elsewhere", "deadline_passed", "disconnected", "no_room"])
async def test_unreject_refused_once_the_live_index_moved_on(engine: Engine, live: Live, moved: str) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.offer_id
    deadline = int((await engine.offer(res.offer_id))["deadline"])
    await engine.reject("a", res.offer_id)
    if moved == "offered_elsewhere":
        await live.agent("b", queues=["q"], chat=1)
    elif moved == "deadline_passed":
        deadline = await redis_now_ms(engine) - 1
    elif moved == "disconnected":
        await live.disconnect("a")
    else:
        offered = await engine.enqueue("i2", "q", "chat", 0, T0 + 5, T0 + 5)
        assert offered.offer_id, "i2 takes the room that i1's offer had"
    after = await live.dump()
    with pytest.raises(Conflict):
        await engine.unreject("a", res.offer_id, "i1", deadline)
    assert await live.dump() == after, "a refused take-back changes nothing"
