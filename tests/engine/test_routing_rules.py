"""The routing rules of the matching scripts: reject cooldowns that end by a timer, strategies, widening
steps timed by the engine, preferred and avoided agents fenced by presence, and the ``why`` of offers."""

from __future__ import annotations

import asyncio

from router.contracts import Why
from router.routing.engine import Engine, Step
from tests.support.engine import T0, Live, Stream, redis_now_ms


async def fire_after(engine: Engine, seconds: float) -> list[tuple[str, str, str]]:
    await asyncio.sleep(seconds)
    return await engine.fire_timers()


async def fire_when_due(engine: Engine, due_ms: int) -> list[tuple[str, str, str]]:
    """Fire the timers once Redis's clock (the one the scripts read) has reached ``due_ms``."""
    while (now := await redis_now_ms(engine)) < due_ms:
        await asyncio.sleep((due_ms - now) / 1000)
    return await engine.fire_timers()


async def offer_why(stream: Stream, interaction_id: str) -> Why:
    offers = [
        e for e in await stream.all() if e.type == "offer" and e.data["interaction_id"] == interaction_id
    ]
    return Why.model_validate(offers[-1].data["why"])


async def test_a_reject_cools_down_then_the_timer_offers_it_again(engine: Engine, live: Live) -> None:
    # 1.5 s: the checks below, made during the cooldown, take milliseconds; so long a cooldown cannot
    # lapse before them even on a slow machine (the test waits it out, so it is no longer than that)
    await live.queue("q", cooldown_ms=1500)
    await live.agent("a", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    rejected = await engine.reject("a", res.offer_id or "")
    now = await redis_now_ms(engine)
    assert now < rejected.excluded_until_ms <= now + 1500
    # one agent, available with free capacity, but cooling down: nothing is offered
    assert await live.offers_of("a") == {}
    assert await engine.match_agent("a") == 0
    assert await live.timers() == {"c:i1:a": rejected.excluded_until_ms}
    # the engine's timer ends the cooldown and matches at once, with nobody polling the interaction
    fired = await fire_when_due(engine, rejected.excluded_until_ms)
    assert ("c", "i1", "a") in fired
    assert set(await live.offers_of("a")) == {"i1"}
    assert await live.exclusions("i1") == {}


async def test_a_second_agent_takes_it_during_the_cooldown(engine: Engine, live: Live) -> None:
    await live.queue("q", cooldown_ms=60_000)
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], chat=1, state="away")
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    await engine.reject("a", res.offer_id or "")
    await live.set_state("b", "available")
    assert set(await live.offers_of("b")) == {"i1"}


async def test_each_strategy_picks_its_documented_agent(engine: Engine, live: Live, stream: Stream) -> None:
    # three agents: "idle" level 6, no load; "skilled" level 9, one chat of two; "free" level 7, no load,
    # idle shortest
    skills = {"billing": 5}
    for strategy in ("longest_idle", "most_skilled", "least_occupied"):
        await live.queue(f"q-{strategy}", strategy=strategy, skills=skills)
    queues = [f"q-{s}" for s in ("longest_idle", "most_skilled", "least_occupied")]
    await live.queue("busy")
    await live.agent("idle", queues=queues, chat=2, skills={"billing": 6})
    await live.agent("skilled", queues=[*queues, "busy"], chat=2, skills={"billing": 9})
    await live.agent("free", queues=queues, chat=4, skills={"billing": 7})
    res = await engine.enqueue("hold", "busy", "chat", 0, T0, T0)
    assert (await engine.offer(res.offer_id or ""))["a"] == "skilled"
    await engine.accept("skilled", res.offer_id or "")
    await live.set_state("free", "away")
    await asyncio.sleep(0.005)  # idle times are milliseconds: a tie would be settled by name
    await live.set_state("free", "available")  # idle since now: the shortest idle
    idle_order = await live.available("q-longest_idle")
    assert idle_order[-1] == "free" and idle_order[0] in ("idle", "skilled")
    expected = {"longest_idle": idle_order[0], "most_skilled": "skilled", "least_occupied": "idle"}
    for n, strategy in enumerate(("longest_idle", "most_skilled", "least_occupied")):
        if strategy == "least_occupied":
            # every offer made the chosen agent idle from then on: of the two without load ("skilled"
            # holds a chat), the one idle longer now
            order = await live.available("q-least_occupied")
            expected[strategy] = next(a for a in order if a != "skilled")
        res = await engine.enqueue(f"i-{strategy}", f"q-{strategy}", "chat", 0, T0 + n, T0 + n)
        offer = await engine.offer(res.offer_id or "")
        assert offer["a"] == expected[strategy], strategy
        why = await offer_why(stream, f"i-{strategy}")
        assert why.strategy == strategy and why.trigger == "interaction"
        if strategy == "most_skilled":
            assert why.score == 9 and {p.reason for p in why.passed_over} == {"lower_score"}
        if strategy == "least_occupied":
            assert why.score == 0 and why.considered == 3
        await engine.reject(offer["a"], res.offer_id or "")  # keep loads as they were
        await engine.customer_end(f"i-{strategy}")


async def test_least_occupied_ties_go_to_the_longest_idle(engine: Engine, live: Live) -> None:
    await live.queue("q", strategy="least_occupied")
    await live.agent("first", queues=["q"], chat=1)
    await asyncio.sleep(0.005)
    await live.agent("second", queues=["q"], chat=1)
    res = await engine.enqueue("i1", "q", "chat", 0, T0, T0)
    assert (await engine.offer(res.offer_id or ""))["a"] == "first"


async def test_a_widening_step_is_timed_by_the_engine(engine: Engine, live: Live, stream: Stream) -> None:
    now = await redis_now_ms(engine)
    # 1.5 s: long enough that the step cannot fall due before the "not yet due" check, a few calls
    # later, even on a slow machine (the test waits it out, so it is no longer than that)
    await live.queue("q", skills={"billing": 8}, steps=[Step(1500, {"billing": 5})])
    await live.agent("junior", queues=["q"], chat=1, skills={"billing": 5})
    res = await engine.enqueue("i1", "q", "chat", 0, now, now)
    assert res.offer_id is None
    assert await live.timers() == {"s:i1": now + 1500}
    assert await engine.fire_timers() == []  # not yet due
    assert await live.offers_of("junior") == {}
    fired = await fire_when_due(engine, now + 1500)
    assert fired == [("s", "i1", "1")]
    assert set(await live.offers_of("junior")) == {"i1"}
    events = [e for e in await stream.all() if e.type == "step_changed"]
    assert [e.data for e in events] == [
        {"interaction_id": "i1", "queue": "q", "step": 1, "levels": {"billing": 5}, "after_ms": 1500}
    ]
    why = await offer_why(stream, "i1")
    assert (why.step.index, why.step.levels) == (1, {"billing": 5})


async def test_a_step_to_any_agent_and_the_wait_counts_from_the_virtual_enqueue_time(
    engine: Engine, live: Live
) -> None:
    now = await redis_now_ms(engine)
    await live.queue("q", skills={"billing": 8}, steps=[Step(1000, {"billing": 6}), Step(2000, {})])
    await live.agent("anyone", queues=["q"], chat=1)
    # enqueued (transferred, say) with a virtual enqueue time 2.5 s ago: the last step holds at once
    res = await engine.enqueue("i1", "q", "chat", 0, now - 2500, now)
    assert res.offer_id is not None
    assert (await engine.interaction_live("i1"))["step"] == "2"


async def test_below_level_agents_are_passed_over_with_their_reason(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q", skills={"billing": 8}, steps=[Step(60_000, {"billing": 5})])
    await live.agent("junior", queues=["q"], chat=1, skills={"billing": 5})
    await live.agent("senior", queues=["q"], chat=1, skills={"billing": 9})
    await live.agent("full", queues=["q"], chat=0, skills={"billing": 9})
    res = await engine.enqueue("i1", "q", "chat", 0, await redis_now_ms(engine), T0)
    assert (await engine.offer(res.offer_id or ""))["a"] == "senior"
    why = await offer_why(stream, "i1")
    assert {(p.agent_id, p.reason) for p in why.passed_over} <= {
        ("junior", "below_level"),
        ("full", "no_capacity"),
    }
    assert why.step.index == 0 and why.step.levels == {"billing": 8}


async def test_the_preferred_agent_busy_then_free_gets_it(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("last", queues=["q"], chat=1)
    await live.agent("other", queues=["q"], chat=1)
    busy = await engine.enqueue("busy", "q", "chat", 0, T0, T0)
    holder = (await engine.offer(busy.offer_id or ""))["a"]
    if holder != "last":  # make "last" the busy one
        await engine.reject(holder, busy.offer_id or "")
        busy = await engine.enqueue("busy2", "q", "chat", 0, T0, T0)
    await engine.accept("last", (await live.offers_of("last"))[next(iter(await live.offers_of("last")))])
    await stream.read()
    res = await engine.enqueue(
        "follow", "q", "chat", 0, T0 + 10, T0 + 10, preferred=["last"], preferred_ms=60_000
    )
    assert res.offer_id is None  # held for "last", who is present but busy; "other" is free
    assert await live.offers_of("other") == {}
    await engine.release("last", next(iter(await engine.agent_work("last"))), "completed")
    assert set(await live.offers_of("last")) == {"follow"}
    why = await offer_why(stream, "follow")
    assert why.preference_applied is True


async def test_an_absent_preferred_agent_never_holds_it_back(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("last", queues=["q"], chat=0)  # present, no room
    await live.agent("other", queues=["q"], chat=1, state="away")
    await live.agent("never", queues=["q"], chat=1)
    res = await engine.enqueue(
        "i1", "q", "chat", 0, T0, T0, preferred=["last"], preferred_ms=60_000, avoid=["never"]
    )
    assert res.offer_id is None  # "never" is free but avoided; "last" is present
    await live.set_state("other", "available")
    assert await live.offers_of("other") == {}  # still held for "last"
    await live.disconnect("last")
    assert set(await live.offers_of("other")) == {"i1"}  # at once
    why = await offer_why(stream, "i1")
    assert why.preference_applied is False
    assert ("last", "not_connected") in {(p.agent_id, p.reason) for p in why.passed_over}
    await engine.reject("other", (await live.offers_of("other"))["i1"])
    assert await live.offers_of("never") == {}  # avoided, whatever happens


async def test_the_preference_window_ends_by_a_timer(engine: Engine, live: Live, stream: Stream) -> None:
    await live.queue("q")
    await live.agent("last", queues=["q"], chat=0)
    await live.agent("other", queues=["q"], chat=1)
    await engine.enqueue("i1", "q", "chat", 0, T0, T0, preferred=["last"], preferred_ms=100)
    assert await live.offers_of("other") == {}
    assert ("p", "i1", "") in await fire_after(engine, 0.15)
    assert set(await live.offers_of("other")) == {"i1"}
    assert [e.data for e in await stream.all() if e.type == "preference_expired"] == [
        {"interaction_id": "i1", "queue": "q", "agents": ["last"]}
    ]


async def test_restore_keeps_running_cooldowns_and_drops_ended_ones(engine: Engine, live: Live) -> None:
    await live.queue("q")
    await live.agent("a", queues=["q"], chat=1)
    await live.agent("b", queues=["q"], chat=1)
    now = await redis_now_ms(engine)
    item = {
        "q": "q",
        "ch": "chat",
        "score": T0,
        "arr": T0,
        "st": "waiting",
        "agent": "",
        "wrapup_until_ms": 0,
    }
    await engine.restore(
        [
            {**item, "id": "cool", "venq": T0, "avoid": "", "ix": {"a": now + 60_000, "b": now - 1}},
            {**item, "id": "avoid", "venq": T0, "avoid": "a", "ix": {}},
        ],
        60_000,
    )
    assert await live.exclusions("cool") == {"a": now + 60_000}
    assert "c:cool:a" in await live.timers()
    assert (await engine.interaction_live("avoid"))["avoid"] == ",a,"


async def test_a_cold_transfer_to_an_agent_who_rejects_goes_to_the_queue_and_the_sender_is_told(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q", cooldown_ms=60_000)
    await live.agent("target", queues=["q"], chat=1)
    await live.agent("other", queues=["q"], chat=1, state="away")
    res = await engine.enqueue(
        "t1",
        "q",
        "chat",
        0,
        T0,
        T0,
        "sender",
        preferred=["target"],
        preferred_ms=60_000,
        directed_by="sender",
    )
    assert (await engine.offer(res.offer_id or ""))["a"] == "target"
    await live.set_state("other", "available")
    assert await live.offers_of("other") == {}  # offered only to the target
    await engine.reject("target", res.offer_id or "")
    await engine.rematch("t1", "target")
    assert set(await live.offers_of("other")) == {"t1"}
    failed = [e.data for e in await stream.all() if e.type == "transfer_failed"]
    assert failed == [
        {"interaction_id": "t1", "agent_id": "sender", "target": "target", "queue": "q", "reason": "rejected"}
    ]


async def test_a_cold_transfer_to_an_absent_agent_fails_at_once(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q")
    await live.agent("target", queues=["q"], chat=1, state="away")
    await live.agent("other", queues=["q"], chat=1)
    await engine.enqueue(
        "t1",
        "q",
        "chat",
        0,
        T0,
        T0,
        "sender",
        preferred=["target"],
        preferred_ms=60_000,
        directed_by="sender",
    )
    assert set(await live.offers_of("other")) == {"t1"}
    assert [e.data["reason"] for e in await stream.all() if e.type == "transfer_failed"] == ["absent"]


async def test_a_cold_transfer_the_target_misses_fails_too(
    engine: Engine, live: Live, stream: Stream
) -> None:
    await live.queue("q", timeout_ms=30)
    await live.agent("target", queues=["q"], chat=1)
    await engine.enqueue(
        "t1",
        "q",
        "chat",
        0,
        T0,
        T0,
        "sender",
        preferred=["target"],
        preferred_ms=60_000,
        directed_by="sender",
    )
    await fire_after(engine, 0.05)
    assert [e.data["reason"] for e in await stream.all() if e.type == "transfer_failed"] == ["missed"]
    assert (await engine.interaction_live("t1"))["dir"] == ""
    await live.set_state("target", "available")  # back from the miss: anyone may have it now, target too
    assert set(await live.offers_of("target")) == {"t1"}
