"""enqueue.lua: a new interaction joins its queue at its rank and is offered at once when an agent is free."""

from __future__ import annotations

import pytest

from router.errors import NotReady
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream, redis_now_ms, score


async def test_waits_in_its_queue_when_no_agent_is_free(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    res = await engine.enqueue("i1", "q", "chat", 5, T0 + 10, T0 + 20)
    assert (res.status, res.offer_id, res.position) == ("waiting", None, 1)
    assert await engine.interaction_live("i1") == {
        "q": "q",
        "ch": "chat",
        "score": str(score(5, T0 + 10)),
        "arr": str(T0 + 20),
        "st": "waiting",
        "venq": str(T0 + 10),
        "step": "0",
    }
    assert await live.waiting("q") == [("i1", score(5, T0 + 10))]
    assert await engine.redis.zscore(engine.keys.queue_age("q"), "i1") == T0 + 20
    events = await stream.read()
    assert [(e.type, e.data) for e in events] == [
        ("enqueued", {"interaction_id": "i1", "queue": "q", "channel": "chat"})
    ]


async def test_is_offered_at_once_to_a_free_agent(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q", timeout_ms=20_000)
    await live.agent("a", queues=["q"], chat=1)
    await stream.read()
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.status == "offered" and res.offer_id and res.position is None
    offer = await engine.offer(res.offer_id)
    assert offer["i"] == "i1" and offer["a"] == "a"
    live_i = await engine.interaction_live("i1")
    assert (live_i["st"], live_i["agent"], live_i["offer"]) == ("offered", "a", res.offer_id)
    assert await live.waiting("q") == []
    assert (await live.load("a"))["chat"] == 1
    assert await live.timers() == {f"o:{res.offer_id}": int(offer["deadline"])}
    events = await stream.read()
    assert [e.type for e in events] == ["enqueued", "offer"]
    assert events[1].data == {
        "offer_id": res.offer_id,
        "interaction_id": "i1",
        "agent_id": "a",
        "deadline": int(offer["deadline"]),
        "queue": "q",
        "channel": "chat",
        "why": {
            "strategy": "longest_idle",
            "step": {"index": 0, "levels": {}},
            "preference_applied": False,
            "considered": 1,
            "score": events[1].data["why"]["score"],
            "passed_over": {},  # cjson's empty table: the Why model reads it as []
            "trigger": "interaction",
        },
    }


async def test_the_offer_deadline_is_the_queues_timeout(engine: Engine, live: Live) -> None:
    await live.queue("q", timeout_ms=7_000)
    await live.agent("a", queues=["q"], chat=1)
    now_ms = await redis_now_ms(engine)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.offer_id
    deadline = int((await engine.offer(res.offer_id))["deadline"])
    assert now_ms + 7_000 <= deadline < now_ms + 7_000 + 1_000


async def test_is_idempotent(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    first = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    again = await engine.enqueue("i1", "q", "chat", 90, T0 + 99, T0 + 99)  # a retry: nothing changes
    assert first == again
    assert await live.waiting("q") == [("i1", score(0, T0))]
    assert await stream.types() == ["enqueued"]


async def test_position_is_priority_then_arrival(engine: Engine, live: Live) -> None:
    await live.queue("q")
    assert (await engine.enqueue("late-low", "q", "chat", 0, T0 + 3, T0 + 3)).position == 1
    assert (await engine.enqueue("early-low", "q", "chat", 0, T0 + 1, T0 + 1)).position == 1
    assert (await engine.enqueue("late-high", "q", "chat", 50, T0 + 9, T0 + 9)).position == 1
    assert (await engine.enqueue("mid-low", "q", "chat", 0, T0 + 2, T0 + 2)).position == 3
    assert [i for i, _ in await live.waiting("q")] == ["late-high", "early-low", "mid-low", "late-low"]
    assert await engine.position("q", "late-low") == 4


async def test_an_excluded_agent_is_not_offered_it(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0, exclude="a")
    assert res.status == "waiting"
    assert await live.excluded("i1") == {"a"}
    assert await engine.match_agent("a") == 0


async def test_only_an_agent_with_capacity_on_the_channel(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("voice_only", queues=["q"], voice=1)
    assert (await engine.enqueue("chat1", "q", "chat", 0, T0, T0)).status == "waiting"
    assert (await engine.enqueue("call1", "q", "voice", 0, T0 + 1, T0 + 1)).status == "offered"


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert await engine.interaction_live("i1") == {}
    assert await stream.read() == []


async def test_reaches_a_free_agent_behind_many_who_cannot_take_it(engine: Engine, live: Live) -> None:
    """Nobody stranded: more available agents without capacity on the channel than one scan looks at
    do not hide the one who has it."""
    voice_agents = [f"v{n:03d}" for n in range(300)]
    await live.queue("q", agents=[*voice_agents, "chatty"])
    for agent in voice_agents:
        await live.agent(agent, queues=["q"], voice=1)
    await live.agent("chatty", queues=["q"], chat=1)  # the most recently idle: scanned last
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert res.status == "offered"
    assert (await engine.offer(res.offer_id or ""))["a"] == "chatty"
