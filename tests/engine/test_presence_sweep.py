"""presence_sweep.lua: one heartbeat's checks in one call — the connected agents of a process that
stopped beating, and this process's desktops the live index lost."""

from __future__ import annotations

from router.routing.engine import Engine
from tests.support.engine import Live


async def test_agents_of_a_silent_process_and_lost_desktops(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("here", queues=["q"], chat=1, state=None)
    await live.agent("there", queues=["q"], chat=1, state=None)
    await live.agent("elsewhere", queues=["q"], chat=1, state=None)
    await live.agent("lost", queues=["q"], chat=1, state=None)
    await live.agent("never", queues=["q"], chat=1, state=None)
    await engine.redis.set(engine.keys.node("alive"), "1")
    await engine.presence("here", "connect", "s-here", "alive", "available")
    await engine.presence("there", "connect", "s-there", "silent", "available")
    await engine.presence("elsewhere", "connect", "s-else", "silent", "away")
    await engine.presence("lost", "connect", "s-lost", "alive", "available")
    # a flush of the agent's presence (what a Redis restart or a wrong sweep leaves)
    await engine.redis.hdel(engine.keys.agent("lost"), "connected", "session")
    await engine.redis.srem(engine.keys.connected, "lost")

    dead, lost = await engine.presence_sweep(["here", "lost"])
    assert sorted(dead) == [("elsewhere", "silent", "s-else"), ("there", "silent", "s-there")]
    assert lost == ["lost"], "only own desktops are checked, and only the lost one is returned"

    await engine.redis.set(engine.keys.node("silent"), "1")
    assert await engine.presence_sweep([]) == ([], [])
