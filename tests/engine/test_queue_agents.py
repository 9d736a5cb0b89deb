"""queue_agents.lua: a queue's agents counted in one call, as the supervisors' queue row shows them."""

from __future__ import annotations

from router.routing.engine import Engine, QueueAgents
from tests.support.engine import T0, Live


async def test_each_agent_counted_by_what_it_does(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.queue("other")
    await live.agent("free", queues=["q"], chat=1)
    await live.agent("resting", queues=["q"], state="away", chat=1)
    await live.agent("gone", queues=["q"], state=None, chat=1)
    await live.agent("talking", queues=["q"], chat=2)
    await live.agent("wrapping", queues=["q"], chat=1)
    await live.agent("elsewhere", queues=["other"], chat=1)

    # "talking" holds one chat and has room for another: busy all the same
    await live.set_state("free", "away")
    talking = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert talking.offer_id is not None
    # the offer went to the longest idle available agent: make sure it is "talking"
    offers = await live.offers_of("talking")
    assert list(offers) == ["i1"]
    await engine.accept("talking", offers["i1"])

    # "wrapping" alone may take the next one (who is longest idle must not hang on a millisecond's tie)
    await live.set_state("talking", "away")
    await live.set_state("free", "away")
    await engine.enqueue("i2", "q", "chat", 0, T0 + 1, T0 + 1)
    offers = await live.offers_of("wrapping")
    assert list(offers) == ["i2"]
    await engine.accept("wrapping", offers["i2"])
    await live.set_state("talking", "available")
    await engine.complete("wrapping", "i2", 60_000)  # in wrap-up for a minute: still holding it
    await live.set_state("free", "available")

    counted = await engine.queue_agents("q")
    assert counted == QueueAgents(
        available=1,
        busy=2,
        wrapup=1,
        by_state={"available": 1, "away": 1, "busy": 2, "offline": 1},
    )
    assert await engine.queue_agents("other") == QueueAgents(
        available=1, busy=0, wrapup=0, by_state={"available": 1, "away": 0, "busy": 0, "offline": 0}
    )
    assert await engine.queue_agents("nobody") == QueueAgents(
        available=0, busy=0, wrapup=0, by_state={"available": 0, "away": 0, "busy": 0, "offline": 0}
    )
