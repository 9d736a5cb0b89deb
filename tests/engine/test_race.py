"""Exactly once and capacity under a real race: many concurrent script calls from several Redis
connections (as several router processes make them) on one routing domain."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from router.errors import OfferGone
from router.routing.engine import Accepted, Engine, Step
from tests.support.engine import CHANNELS, T0, Event, Live, Stream, redis_now_ms

AGENTS = [f"a{n:02d}" for n in range(16)]
CAPACITY = {"voice": 1, "chat": 2, "email": 1}
CLIENTS = 4


@pytest.fixture
async def engines(redis_url: str, engine: Engine) -> AsyncIterator[list[Engine]]:
    """One engine per Redis connection pool, all on the test's namespace."""
    namespace = engine.keys.prefix.strip("{}")
    clients = [aioredis.Redis.from_url(redis_url, decode_responses=True) for _ in range(CLIENTS)]
    engines = [Engine(c, namespace) for c in clients]
    yield engines
    for e in engines:
        await e.close()
    for c in clients:
        await c.aclose()


def replay(events: list[Event]) -> dict[str, int]:
    """Walk the stream in order and check, at every step, that no interaction is offered or held twice
    and no agent holds more than its capacity (offers count) or mixes a call with other work.
    Returns how many times each interaction was offered."""
    load: dict[str, Counter[str]] = defaultdict(Counter)
    holder: dict[str, str] = {}  # interaction -> agent holding an offer or the work
    channel: dict[str, str] = {}
    offered: Counter[str] = Counter()
    for e in events:
        d = e.data
        if e.type == "enqueued":
            channel[d["interaction_id"]] = d["channel"]
        elif e.type == "offer":
            iid, agent, ch = d["interaction_id"], d["agent_id"], d["channel"]
            assert iid not in holder, f"{iid} offered to {agent} while held by {holder[iid]}"
            holder[iid] = agent
            offered[iid] += 1
            load[agent][ch] += 1
            assert load[agent][ch] <= CAPACITY[ch], f"{agent} over capacity on {ch}: {load[agent]}"
            others = sum(n for c, n in load[agent].items() if c != "voice")
            assert not (load[agent]["voice"] and others), (
                f"{agent} mixes a call with other work: {load[agent]}"
            )
        elif e.type in ("offer_revoked", "work_ended"):
            iid, agent = d["interaction_id"], d["agent_id"]
            assert holder.pop(iid) == agent
            load[agent][channel[iid]] -= 1
    return dict(offered)


async def test_concurrent_arrivals_and_agents_each_interaction_offered_once(
    engines: list[Engine], engine: Engine, stream: Stream
) -> None:
    live = Live(engine)
    await live.queue("q", agents=AGENTS)
    for agent in AGENTS:
        await live.agent(agent, queues=["q"], state="away", **CAPACITY)
    rng = random.Random(7)
    interactions = [(f"i{n:03d}", rng.choice(["voice", "chat", "chat", "email"])) for n in range(240)]

    async def arrive(n: int, iid: str, ch: str) -> None:
        await engines[n % CLIENTS].enqueue(iid, "q", ch, rng.choice([0, 0, 10]), T0 + n, T0 + n)

    async def become_available(n: int, agent: str) -> None:
        eng = engines[n % CLIENTS]
        await eng.presence(agent, "state", live.sessions[agent], "node-1", "available")

    calls = [arrive(n, iid, ch) for n, (iid, ch) in enumerate(interactions)]
    calls += [become_available(n, a) for n, a in enumerate(AGENTS)]
    rng.shuffle(calls)
    await asyncio.gather(*calls)

    offered = replay(await stream.read())
    assert all(n == 1 for n in offered.values()), {i: n for i, n in offered.items() if n > 1}
    # every agent is full (there is more work than capacity), and nothing free is left unused
    for agent in AGENTS:
        load = await live.load(agent)
        assert all(load[ch] <= CAPACITY.get(ch, 0) for ch in CHANNELS), (agent, load)
        assert await engine.match_agent(agent) == 0
    held = 0
    for agent in AGENTS:
        held += len(await live.offers_of(agent))
    assert held == len(offered)
    assert held + len(await live.waiting("q")) == len(interactions)


async def test_concurrent_work_never_double_assigns_or_overloads(
    engines: list[Engine], engine: Engine, stream: Stream
) -> None:
    """Agents accept, reject and complete concurrently while work keeps arriving; afterwards every
    interaction was assigned exactly once and handled, and the stream never shows a double offer or an
    agent over capacity."""
    live = Live(engine)
    await live.queue("q", agents=AGENTS)
    for agent in AGENTS:
        await live.agent(agent, queues=["q"], **CAPACITY)
    rng = random.Random(11)
    interactions = [(f"i{n:03d}", rng.choice(["voice", "chat", "chat", "email"])) for n in range(300)]
    done: set[str] = set()

    async def agent_loop(k: int, agent: str) -> None:
        eng = engines[k % CLIENTS]
        while len(done) < len(interactions):
            offers = await eng.agent_offers(agent)
            if not offers:
                await asyncio.sleep(0.002)
                continue
            for o in offers:
                if rng.random() < 0.1:
                    try:
                        await eng.rematch((await eng.reject(agent, o["offer_id"])).interaction_id, agent)
                    except OfferGone:
                        pass
                    continue
                iid = (await eng.accept(agent, o["offer_id"])).interaction_id
                await eng.complete(agent, iid, 0)
                done.add(iid)

    async def arrivals() -> None:
        for n, (iid, ch) in enumerate(interactions):
            await engines[n % CLIENTS].enqueue(iid, "q", ch, 0, T0 + n, T0 + n)
            if n % 10 == 0:
                await asyncio.sleep(0)

    async def everyone() -> None:
        await asyncio.gather(arrivals(), *(agent_loop(k, a) for k, a in enumerate(AGENTS)))

    await asyncio.wait_for(everyone(), 30)
    events = await stream.read()
    replay(events)
    assigned = Counter(e.data["interaction_id"] for e in events if e.type == "assigned")
    assert set(assigned) == {iid for iid, _ in interactions}
    assert set(assigned.values()) == {1}
    for agent in AGENTS:
        assert await live.load(agent) == {ch: 0 for ch in CHANNELS}


async def test_a_double_accept_assigns_once(engines: list[Engine], engine: Engine) -> None:
    live = Live(engine)
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    results = await asyncio.gather(
        *(eng.accept("a", res.offer_id or "") for eng in engines), return_exceptions=True
    )
    won = Accepted("i1", callback=False)
    assert results.count(won) == 1
    assert all(isinstance(r, OfferGone) for r in results if r != won)
    assert await engine.agent_work("a") == ["i1"]


async def test_an_accept_racing_the_timeout_either_wins_but_not_both(
    engines: list[Engine], engine: Engine
) -> None:
    live = Live(engine)
    await live.queue("q", timeout_ms=5)
    await live.agent("a", queues=["q"], chat=1)
    outcomes: Counter[bool] = Counter()
    for n in range(30):
        res = await engine.enqueue(f"i{n}", "q", "chat", 0, T0 + n, T0 + n)
        assert res.offer_id is not None  # a missed offer never excludes the agent
        await asyncio.sleep(0.006)
        accepted, fired = await asyncio.gather(
            engines[0].accept("a", res.offer_id), engines[1].fire_timers(), return_exceptions=True
        )
        timed_out = any(kind == "o" and iid == f"i{n}" for kind, iid, _ in fired)  # type: ignore[union-attr]
        assert isinstance(accepted, OfferGone) == timed_out
        st = (await engine.interaction_live(f"i{n}")).get("st")
        assert st == ("waiting" if timed_out else "assigned")
        outcomes[timed_out] += 1
        if not timed_out:
            await engine.complete("a", f"i{n}", 0)
        else:
            await engine.customer_end(f"i{n}")
            await live.set_state("a", "available")  # the miss made it not ready
    assert sum(outcomes.values()) == 30


async def test_timers_rejects_and_presence_racing_never_offer_twice(
    engines: list[Engine], engine: Engine, stream: Stream
) -> None:
    """Widening steps, reject cooldowns, preference windows and offer timeouts all fire from the timer set
    while agents reject, accept, miss and come back from four connections: the stream never shows an
    interaction offered twice at once or an agent over capacity, and once the clock has run out nothing
    waits beside an agent with room."""
    live = Live(engine)
    await live.queue(
        "q",
        agents=AGENTS,
        timeout_ms=150,
        cooldown_ms=30,
        strategy="most_skilled",
        skills={"s": 8},
        steps=[Step(100, {"s": 5}), Step(250, {})],
    )
    for n, agent in enumerate(AGENTS):
        await live.agent(agent, queues=["q"], state="away", skills={"s": 3 + n % 7}, **CAPACITY)
    rng = random.Random(11)
    ids = [f"r{n:03d}" for n in range(120)]

    async def arrive(n: int, iid: str) -> None:
        prefer = [AGENTS[n % len(AGENTS)]] if n % 3 == 0 else []
        eng = engines[n % CLIENTS]
        now = await redis_now_ms(eng)  # the steps count from the virtual enqueue time: a real one here
        await eng.enqueue(iid, "q", "chat", 0, now, now, preferred=prefer, preferred_ms=50 if prefer else 0)

    async def agent_loop(k: int, agent: str) -> None:
        eng = engines[k % CLIENTS]
        for _ in range(12):
            await eng.presence(agent, "state", live.sessions[agent], "node-1", "available")
            await asyncio.sleep(rng.random() * 0.02)
            for offer in await eng.agent_offers(agent):
                choice = rng.random()
                try:
                    if choice < 0.4:
                        rejected = await eng.reject(agent, offer["offer_id"])
                        await eng.rematch(rejected.interaction_id, agent)
                    elif choice < 0.8:
                        iid = (await eng.accept(agent, offer["offer_id"])).interaction_id
                        await eng.complete(agent, iid, 0)
                    # else: left to time out (a miss)
                except OfferGone:
                    pass

    async def timers(k: int) -> None:
        for _ in range(100):
            await engines[k].fire_timers()
            await asyncio.sleep(0.005)

    calls = [arrive(n, iid) for n, iid in enumerate(ids)]
    calls += [agent_loop(k, a) for k, a in enumerate(AGENTS)]
    calls += [timers(k) for k in range(CLIENTS)]
    rng.shuffle(calls)
    await asyncio.gather(*calls)
    # the clock runs out every step, cooldown and window; everyone comes back: nobody is stranded
    await asyncio.sleep(0.3)
    await engine.fire_timers(limit=10_000)
    for agent in AGENTS:
        await engine.presence(agent, "state", live.sessions[agent], "node-1", "available")
    events = await stream.all()
    offered = replay(events)
    assert offered, "the race made offers"
    kinds = Counter(e.type for e in events)
    revoked = Counter(e.data["reason"] for e in events if e.type == "offer_revoked")
    assert kinds["step_changed"] and revoked["rejected"] and revoked["timeout"], (kinds, revoked)
    if await live.waiting("q"):
        for agent in AGENTS:
            assert (await live.load(agent))["chat"] == CAPACITY["chat"], (
                f"{agent} has room beside waiting work"
            )
