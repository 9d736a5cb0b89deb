"""set_agent.lua: an agent's live record (capacity, voice blocking, eligible queues) is created or
updated; its state, load and held work are kept. It runs while the index is being rebuilt too."""

from __future__ import annotations

from router.routing.engine import Engine
from tests.support.engine import T0, Live, capacity


async def test_creates_an_away_disconnected_agent(engine: Engine, live: Live) -> None:
    made = await engine.set_agent(
        "a", capacity={"chat": 2, "voice": 1}, voice_blocks=True, queues=["q1", "q2"]
    )
    assert made == 0
    agent = await engine.agent_live("a")
    assert (agent["state"], agent["connected"], agent["vblock"]) == ("away", "0", "1")
    assert {k: agent[k] for k in agent if k.startswith("cap:")} == {
        "cap:voice": "1",
        "cap:chat": "2",
        "cap:email": "0",
        "cap:social": "0",
        "cap:sms": "0",
    }
    assert await live.agent_queues("a") == {"q1", "q2"}
    assert await live.queue_agents("q1") == {"a"} and await live.queue_agents("q2") == {"a"}
    assert await live.available("q1") == []


async def test_an_update_keeps_state_and_load_and_moves_queues(engine: Engine, live: Live) -> None:
    await live.queue("q1")
    await live.queue("q2")
    await live.agent("a", queues=["q1", "q2"], chat=2)
    await engine.enqueue("i1", "q1", "chat", 0, T0, T0)
    made = await engine.set_agent("a", capacity={"chat": 3}, voice_blocks=False, queues=["q2", "q3"])
    assert made == 0
    agent = await engine.agent_live("a")
    assert (agent["state"], agent["connected"], agent["vblock"], agent["cap:chat"]) == (
        "available",
        "1",
        "0",
        "3",
    )
    assert (await live.load("a"))["chat"] == 1
    assert set(await live.offers_of("a")) == {"i1"}
    assert await live.agent_queues("a") == {"q2", "q3"}
    assert await live.queue_agents("q1") == set()
    assert await live.available("q1") == [] and await live.available("q3") == ["a"]


async def test_more_capacity_is_used_at_once(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    for n in range(3):
        await engine.enqueue(f"i{n}", "q", "chat", 0, T0 + n, T0 + n)
    assert await engine.set_agent("a", capacity=capacity(chat=3), voice_blocks=True, queues=["q"]) == 2
    assert set(await live.offers_of("a")) == {"i0", "i1", "i2"}


async def test_runs_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await engine.redis.delete(engine.keys.built)
    assert await engine.set_agent("a", capacity={"chat": 2}, voice_blocks=True, queues=["q", "r"]) == 0
    assert (await engine.agent_live("a"))["cap:chat"] == "2"
    assert await live.agent_queues("a") == {"q", "r"}
