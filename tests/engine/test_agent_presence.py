"""agent_presence.lua: a desktop connects, changes state or disconnects; only the current session
counts, and only a connected, available agent is in the queues' available sets."""

from __future__ import annotations

import pytest

from router.errors import NotFound, NotReady
from router.routing.engine import Engine
from tests.support.engine import T0, Live, Stream, redis_now_ms


async def test_connect_and_become_available(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], state=None, chat=1)
    assert await live.available("q") == []
    now = await redis_now_ms(engine)
    presence = await engine.presence("a", "connect", "s1", "node-1", "available")
    assert presence is not None and presence.state == "available"
    assert now <= presence.since * 1000 < now + 1000
    agent = await engine.agent_live("a")
    assert (agent["connected"], agent["session"], agent["node"], agent["state"]) == (
        "1",
        "s1",
        "node-1",
        "available",
    )
    assert int(agent["epoch"]) == presence.epoch and now <= presence.epoch < now + 1000
    assert await engine.redis.smembers(engine.keys.connected) == {"a"}
    assert await live.available("q") == ["a"]
    events = await stream.read()
    at = int(presence.since * 1000)
    assert [(e.type, e.data) for e in events] == [
        (
            "agent_state",  # the change, as the presence history records it
            {"agent_id": "a", "state": "available", "reason": "", "at": at, "since": at, "connected": True},
        ),
        (
            "agent",
            {
                "agent_id": "a",
                "state": "available",
                "connected": True,
                "session": "s1",
                "epoch": presence.epoch,
            },
        ),
    ]


async def test_each_connect_gets_a_larger_epoch_and_state_changes_name_it(
    engine: Engine, live: Live, stream: Stream
) -> None:
    """The epoch orders one agent's sessions, so of two racing desktops every process can tell the newer:
    strictly larger on each connect (even within one millisecond), unchanged by state changes and
    disconnects, and taken from the clock when the agent's live record is made again (a rebuilt index)."""
    await live.queue("q")
    await live.agent("a", queues=["q"], state=None, chat=1)
    epochs = []
    for n in range(20):  # many within one millisecond
        presence = await engine.presence("a", "connect", f"s{n}", "node-1", "away")
        assert presence is not None
        epochs.append(presence.epoch)
    assert epochs == sorted(set(epochs)), "strictly increasing"
    await stream.read()
    presence = await engine.presence("a", "state", "s19", "node-1", "available")
    assert presence is not None and presence.epoch == epochs[-1]
    assert [e.data["epoch"] for e in await stream.read() if e.type == "agent"] == [epochs[-1]]
    assert await engine.presence("a", "disconnect", "s19", "node-1", "", 1000) is not None
    assert int((await engine.agent_live("a"))["epoch"]) == epochs[-1]
    await engine.redis.delete(engine.keys.agent("a"))  # the record is made again, without its epoch
    await live.agent("a", queues=["q"], state=None, chat=1)
    now = await redis_now_ms(engine)
    again = await engine.presence("a", "connect", "s20", "node-1", "away")
    assert again is not None and again.epoch >= now  # from the clock: it does not start again at 1


async def test_connect_without_a_state_keeps_the_last_one(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)  # connected, available
    await live.disconnect("a")
    presence = await engine.presence("a", "connect", "s2", "node-2", "")
    assert presence is not None and presence.state == "available"
    assert await live.available("q") == ["a"]
    await engine.set_agent("b", capacity={"chat": 1}, voice_blocks=True, queues=["q"])
    presence = await engine.presence("b", "connect", "s3", "node-2", "")
    assert presence is not None and presence.state == "away"  # a new agent starts away


async def test_away_leaves_the_available_sets_and_keeps_offers(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=2)
    await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await live.set_state("a", "away")
    assert await live.available("q") == []
    assert set(await live.offers_of("a")) == {"i1"}  # an open offer stays until answered or timed out
    assert (await engine.enqueue("i2", "q", "chat", 0, T0 + 1, T0 + 1)).status == "waiting"


async def test_becoming_available_is_matched_at_once(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], state="away", chat=1)
    await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await stream.read()
    await live.set_state("a", "available")
    assert set(await live.offers_of("a")) == {"i1"}
    assert await stream.types() == ["agent_state", "agent", "offer"]


async def test_a_stale_session_changes_nothing(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    old = live.sessions["a"]
    await live.connect("a", "away", session="newer")  # a second desktop takes over
    await stream.read()
    assert await engine.presence("a", "state", old, "node-1", "available") is None
    assert await engine.presence("a", "disconnect", old, "node-1", "", 1000) is None
    agent = await engine.agent_live("a")
    assert (agent["state"], agent["connected"], agent["session"]) == ("away", "1", "newer")
    assert await live.available("q") == []
    assert await stream.read() == []


async def test_disconnect_requeues_offers_without_excluding_the_agent(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], state="away", chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await stream.read()
    await live.disconnect("a", grace_ms=5_000)
    agent = await engine.agent_live("a")
    assert agent["connected"] == "0" and "session" not in agent and "node" not in agent
    assert await engine.redis.smembers(engine.keys.connected) == {"b"}
    assert await live.available("q") == []
    assert await engine.offer(res.offer_id or "") == {}
    assert (await live.load("a"))["chat"] == 0
    assert [i for i, _ in await live.waiting("q")] == ["i1"]
    assert await live.excluded("i1") == set()  # a dropped connection is not a refusal
    assert await live.timers() == {}  # no held work: no reconnect grace
    events = await stream.read()
    assert [e.type for e in events] == ["offer_revoked", "requeued", "agent", "agent_state"]
    assert events[0].data["reason"] == "disconnected"
    assert events[2].data == {"agent_id": "a", "connected": False}
    # the history records a dropped desktop as offline; the live state stays for the reconnect
    assert {k: events[3].data[k] for k in ("agent_id", "state", "reason", "connected")} == {
        "agent_id": "a",
        "state": "offline",
        "reason": "disconnected",
        "connected": False,
    }
    assert (await engine.agent_live("a"))["state"] == "available"
    await live.connect("a", "available")
    assert set(await live.offers_of("a")) == {"i1"}


async def test_disconnect_with_held_work_starts_the_reconnect_grace(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.accept("a", res.offer_id or "")
    now = await redis_now_ms(engine)
    await live.disconnect("a", grace_ms=30_000)
    due = (await live.timers())["g:a"]
    assert now + 30_000 <= due < now + 31_000
    assert await engine.agent_work("a") == ["i1"]  # kept while it may come back
    await live.connect("a", "available")
    assert "g:a" not in await live.timers()


async def test_an_unknown_agent(engine: Engine) -> None:
    with pytest.raises(NotFound):
        await engine.presence("ghost", "connect", "s1", "node-1", "available")


async def test_refused_while_the_index_is_not_built(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], state=None, chat=1)
    await engine.redis.delete(engine.keys.built)
    with pytest.raises(NotReady):
        await engine.presence("a", "connect", "s1", "node-1", "available")
    assert (await engine.agent_live("a"))["connected"] == "0"
