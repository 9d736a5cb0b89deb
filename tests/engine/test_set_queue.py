"""set_queue.lua: a queue's live configuration (offer timeout, wrap-up) and its eligible agents. It runs
while the index is being rebuilt too."""

from __future__ import annotations

from router.routing.engine import Engine
from tests.support.engine import T0, Live


async def test_writes_the_configuration_and_the_eligible_agents(engine: Engine, live: Live) -> None:
    assert await engine.set_queue("q", timeout_ms=15_000, wrapup_ms=30_000, agents=["a", "b"]) == 0
    assert await live.queue_config("q") == {
        "timeout_ms": "15000",
        "wrapup_ms": "30000",
        "strategy": "longest_idle",
        "levels": "{}",
        "steps": "[]",
        "cooldown_ms": "30000",
    }
    assert await live.queue_agents("q") == {"a", "b"}
    assert await live.agent_queues("a") == {"q"}


async def test_agents_no_longer_eligible_leave_the_queue(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], chat=1)
    assert await live.available("q") == ["a", "b"]
    await engine.set_queue("q", timeout_ms=60_000, wrapup_ms=0, agents=["b"])
    assert await live.queue_agents("q") == {"b"}
    assert await live.agent_queues("a") == set()
    assert await live.available("q") == ["b"]
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert (await engine.offer(res.offer_id or ""))["a"] == "b"


async def test_a_newly_eligible_available_agent_is_matched(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.queue("other")
    await live.agent("a", queues=["other"], chat=2)
    await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.enqueue("i2", "q", "chat", 0, T0 + 1, T0 + 1)
    assert await engine.set_queue("q", timeout_ms=60_000, wrapup_ms=0, agents=["a"]) == 2
    assert set(await live.offers_of("a")) == {"i1", "i2"}
    assert await live.available("q") == ["a"]


async def test_the_offer_timeout_applies_to_new_offers(engine: Engine, live: Live) -> None:
    await live.queue("q", timeout_ms=60_000)
    await live.agent("a", queues=["q"], chat=1)
    await engine.set_queue("q", timeout_ms=1_000, wrapup_ms=0, agents=["a"])
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    deadline = int((await engine.offer(res.offer_id or ""))["deadline"])
    assert (await live.timers())[f"o:{res.offer_id}"] == deadline
    now = (await engine.redis.time())[0] * 1000
    assert deadline < now + 5_000


async def test_runs_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await live.agent("a", queues=[], chat=1)
    await engine.redis.delete(engine.keys.built)
    assert await engine.set_queue("q", timeout_ms=5_000, wrapup_ms=0, agents=["a"]) == 0
    assert (await live.queue_config("q"))["timeout_ms"] == "5000"
    assert await live.available("q") == ["a"]
