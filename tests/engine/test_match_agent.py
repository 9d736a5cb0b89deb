"""match_agent.lua: an agent who becomes free is offered the best waiting work across its queues, until
its free capacity is used."""

from __future__ import annotations

import pytest

from router.errors import NotReady
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream


async def test_offers_the_best_waiting_work_up_to_capacity(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], state="away", chat=2)
    for n in range(4):
        await engine.enqueue(f"i{n}", "q", "chat", 0, T0 + 10 - n, T0)  # i3 has the earliest virtual time
    await stream.read()
    await live.set_state("a", "available")  # the presence script matches the agent itself
    assert set(await live.offers_of("a")) == {"i3", "i2"}
    assert [i for i, _ in await live.waiting("q")] == ["i1", "i0"]
    assert (await live.load("a"))["chat"] == 2
    assert await engine.match_agent("a") == 0  # full: nothing more
    events = await stream.read()
    assert [e.type for e in events] == ["agent_state", "agent", "offer", "offer"]
    assert [e.data["interaction_id"] for e in events[2:]] == ["i3", "i2"]


async def test_returns_the_number_of_offers_made(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=3)
    await live.disconnect("a")  # out of the available set, so enqueue cannot match it
    for n in range(2):
        await engine.enqueue(f"i{n}", "q", "chat", 0, T0 + n, T0 + n)
    assert await engine.match_agent("a") == 0  # not connected
    await live.connect("a", "available")
    assert set(await live.offers_of("a")) == {"i0", "i1"}
    await engine.enqueue("i2", "q", "chat", 0, T0 + 2, T0 + 2)  # offered by enqueue itself
    assert set(await live.offers_of("a")) == {"i0", "i1", "i2"}


async def test_takes_the_best_across_the_agents_queues(engine: Engine, live: Live) -> None:
    await live.queue("low")
    await live.queue("high")
    await live.agent("a", queues=["low", "high"], state="away", chat=1)
    await engine.enqueue("old-low", "low", "chat", 0, T0, T0)
    await engine.enqueue("new-high", "high", "chat", 10, T0 + 1000, T0 + 1000)
    await live.set_state("a", "available")
    assert set(await live.offers_of("a")) == {"new-high"}


async def test_skips_work_on_channels_without_free_capacity(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], state="away", email=1)
    await engine.enqueue("chat-first", "q", "chat", 0, T0, T0)
    await engine.enqueue("mail-later", "q", "email", 0, T0 + 1, T0 + 1)
    await live.set_state("a", "available")
    assert set(await live.offers_of("a")) == {"mail-later"}
    assert [i for i, _ in await live.waiting("q")] == ["chat-first"]


@pytest.mark.parametrize("state", ["away", "offline"])
async def test_nothing_for_an_agent_not_available(engine: Engine, live: Live, state: str) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], state=state, chat=1)
    await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert await engine.match_agent("a") == 0
    assert await live.offers_of("a") == {}


async def test_nothing_for_an_agent_not_eligible(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.queue("other")
    await live.agent("a", queues=["other"], chat=1)
    await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert await engine.match_agent("a") == 0


async def test_the_longest_idle_agent_gets_the_offer(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("first", queues=["q"], chat=1)
    await live.agent("second", queues=["q"], chat=1)
    assert await live.available("q") == ["first", "second"]
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert (await engine.offer(res.offer_id or ""))["a"] == "first"
    res = await engine.enqueue("i2", "q", "chat", 0, T0 + 1, T0 + 1)
    assert (await engine.offer(res.offer_id or ""))["a"] == "second"


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.match_agent("a")


async def test_finds_work_behind_a_long_run_it_cannot_take(engine: Engine, live: Live) -> None:
    """Nobody stranded: a chat behind more calls than one scan looks at still reaches a chat agent."""
    await live.queue("q")
    await live.agent("a", queues=["q"], state="away", chat=1)
    for n in range(150):
        await engine.enqueue(f"call{n}", "q", "voice", 0, T0 + n, T0 + n)
    await engine.enqueue("chat", "q", "chat", 0, T0 + 1000, T0 + 1000)
    await live.set_state("a", "available")
    assert set(await live.offers_of("a")) == {"chat"}


async def test_finds_work_behind_a_long_run_that_excludes_the_agent(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], state="away", chat=1)
    for n in range(150):
        await engine.enqueue(f"refused{n}", "q", "chat", 0, T0 + n, T0 + n, exclude="a")
    await engine.enqueue("last", "q", "chat", 0, T0 + 1000, T0 + 1000)
    await live.set_state("a", "available")
    assert set(await live.offers_of("a")) == {"last"}
