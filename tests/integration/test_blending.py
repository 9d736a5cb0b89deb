"""Blended agents: a ``[[blending]]`` rule switches its group's capacities while the channel's estimated
wait is over the threshold, never takes work away mid-interaction, switches back after the condition has
been clear for ``restore_after_seconds``, tells each switch once on the stream and on the wallboard, and
only one of two router processes on the same Redis acts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp

from router.routing.engine import Engine
from router.service.blending import BLENDING
from tests.conftest import MakeServer
from tests.support.agents import AgentClient
from tests.support.configs import routing
from tests.support.servers import TestServer

# The rule stays in force this long after the call is offered (the condition clears then): long enough for
# the checks of the rule in force that follow the offer, however slow the machine
RESTORE_SECONDS = 4.0

# Two chat agents of the group "flex" who can take calls (they are in the voice queue's pool) but have
# no voice capacity of their own; nobody else takes calls. A call that waits has no staffed voice slot:
# its estimated wait is unknown, which counts as over any threshold.
CONFIG = (
    routing(blending_interval_seconds=0.2)
    .queue("voice", skills={"v": 1}, channels=["voice"], offer_timeout_seconds=30, wrapup_seconds=0)
    .queue("chat", skills={"c": 1}, channels=["chat"], offer_timeout_seconds=30, wrapup_seconds=0)
    .agent("a1", name="A1", skills={"c": 5, "v": 3}, capacity={"chat": 2, "voice": 0}, groups=["flex"])
    .agent("a2", name="A2", skills={"c": 5, "v": 3}, capacity={"chat": 2, "voice": 0}, groups=["flex"])
    .blend(
        id="voice-spike",
        channel="voice",
        when={"ewt_over_seconds": 30},
        for_seconds=1,
        agents={"group": "flex"},
        capacity={"voice": 1, "chat": 0},
        restore_after_seconds=RESTORE_SECONDS,
    )
)


def call(n: int) -> dict[str, Any]:
    return {"channel": "voice", "queue": "voice", "from": {"kind": "phone", "value": f"+1415555{n:04d}"}}


def chat(n: int) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": "chat",
        "from": {"kind": "chat_visitor", "value": f"visitor-{n}"},
        "content": "hello",
    }


async def stream(engine: Engine, kinds: set[str]) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await engine.redis.xrange(engine.keys.events)
    return [(str(i), f["type"], json.loads(f["data"])) for i, f in rows if f["type"] in kinds]


async def wait_for_event(engine: Engine, kind: str, timeout: float = 15) -> tuple[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await stream(engine, {kind})
        if found:
            return found[0][0], found[0][2]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} event within {timeout} s")


async def caps(engine: Engine, agent: str) -> dict[str, int]:
    live = await engine.agent_live(agent)
    return {ch: int(live[f"cap:{ch}"]) for ch in ("voice", "chat")}


async def test_a_voice_spike_switches_the_group_and_a_clear_queue_switches_it_back(
    make_server: MakeServer,
) -> None:
    server: TestServer = await make_server(CONFIG)
    engine = server.engine
    token = await server.token("supervisor")
    async with aiohttp.ClientSession() as session:
        wallboard = await session.ws_connect(
            server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={token}"
        )
        a1, a2 = await server.agent("a1"), await server.agent("a2")
        # one of them takes a chat first: that one is mid-interaction when the spike comes
        held = await server.ingest(**chat(1))
        offers = {a.agent_id: a for a in (a1, a2)}
        busy: AgentClient = await first_offered(list(offers.values()), held["id"])
        idle = a2 if busy is a1 else a1
        first_offer = await busy.next("offer")
        assert (await busy.call({"type": "accept", "offer_id": first_offer["offer_id"]}))["type"] == "ack"
        assert await caps(engine, idle.agent_id) == {"voice": 0, "chat": 2}

        posted_ms = time.time() * 1000
        spike = await server.ingest(**call(1))
        assert spike["status"] == "queued" and spike["estimated_wait_seconds"] is None
        started_id, started = await wait_for_event(engine, "blending_started")
        assert started["rule"] == "voice-spike" and started["channel"] == "voice"
        assert started["group"] == "flex" and started["capacity"] == {"voice": 1, "chat": 0}
        # the condition held for for_seconds before the switch: the call had waited at least that long
        assert int(started_id.split("-")[0]) - posted_ms >= 1000 - 50
        # the restore clock starts when a round first sees the condition clear, which is as soon as the
        # call is offered (offering takes it off the waiting set), not when it is accepted: record the
        # ``cleared`` time blending.lua keeps in the rule's hash (deleted again when the rule switches
        # back), polled from now on so that it is seen whenever it is set
        seen_cleared: list[int] = []
        watcher = asyncio.create_task(watch_cleared(engine, "voice-spike", seen_cleared))

        # the idle agent of the group is offered the call; the busy one keeps its chat and gets nothing new
        offer = await idle.next("offer", timeout=10)
        assert offer["interaction"]["id"] == spike["id"]
        assert await caps(engine, idle.agent_id) == {"voice": 1, "chat": 0}
        assert await caps(engine, busy.agent_id) == {"voice": 1, "chat": 0}
        busy_live = await engine.agent_live(busy.agent_id)
        assert busy_live["load:chat"] == "1"
        assert held["id"] in await engine.agent_work(busy.agent_id)
        assert (await engine.interaction_live(held["id"]))["st"] == "assigned"
        # a new chat is offered to no one of the group while the rule is in force
        later_chat = await server.ingest(**chat(2))
        assert later_chat["status"] == "queued"

        frame = await next_frame(wallboard, lambda f: f["type"] == "blending" and f["rules"][0]["active"])
        assert frame["rules"][0]["rule"] == "voice-spike" and frame["rules"][0]["since"] is not None
        # the wallboard's row of the agent shows the capacity in force
        row = await next_frame(
            wallboard,
            lambda f: (
                f["type"] == "agent" and f["agent"]["id"] == idle.agent_id and f["agent"]["capacity"]["voice"]
            ),
        )
        assert row["agent"]["capacity"]["chat"] == 0
        status, agent = await server.request("GET", f"/v1/agents/{idle.agent_id}", role="supervisor")
        assert status == 200 and agent["groups"] == ["flex"]
        assert agent["live"]["capacity"]["voice"] == 1 and agent["capacity"]["voice"] == 0

        # the call is answered: nothing waits on voice, the condition clears
        assert (await idle.call({"type": "accept", "offer_id": offer["offer_id"]}))["type"] == "ack"
        _, ended = await wait_for_event(engine, "blending_ended")
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        assert ended["rule"] == "voice-spike" and ended["since"] == started["since"]
        # the rule stayed in force for restore_after_seconds after the condition cleared. Both times are
        # blending.lua's now_ms() (Redis TIME, whole ms; ``at`` is the switching round's), so the bound is
        # exact: no allowance for the test's own timing is needed
        assert seen_cleared, "the condition was never seen clear while the rule was in force"
        assert seen_cleared[-1] >= started["at"]
        assert ended["at"] - seen_cleared[-1] >= RESTORE_SECONDS * 1000
        await wait_until(lambda: caps_are(engine, busy.agent_id, {"voice": 0, "chat": 2}))
        assert await caps(engine, idle.agent_id) == {"voice": 0, "chat": 2}
        # the chat held through the spike is still the busy agent's; the waiting chat goes to it now
        assert held["id"] in await engine.agent_work(busy.agent_id)
        again = await busy.next("offer", timeout=10)
        assert again["interaction"]["id"] == later_chat["id"]
        frame = await next_frame(wallboard, lambda f: f["type"] == "blending" and not f["rules"][0]["active"])
        assert frame["rules"][0]["since"] is None
        # each switch was told once
        kinds = [k for _, k, _ in await stream(engine, {"blending_started", "blending_ended"})]
        assert kinds == ["blending_started", "blending_ended"]
        await wallboard.close()
    await a1.close()
    await a2.close()


async def test_two_processes_one_switch(make_server: MakeServer) -> None:
    """Two router processes on one Redis and database: one evaluates the rules, one event per switch."""
    first = await make_server(CONFIG)
    second = await make_server(CONFIG)
    engine = first.engine
    agent = await second.agent("a1")
    spike = await first.ingest(**call(2))
    await wait_for_event(engine, "blending_started")
    offer = await agent.next("offer", timeout=10)
    assert offer["interaction"]["id"] == spike["id"]
    assert (await agent.call({"type": "accept", "offer_id": offer["offer_id"]}))["type"] == "ack"
    await wait_for_event(engine, "blending_ended")
    await asyncio.sleep(1.0)  # time for a second process to tell the same switch, if it were to
    kinds = [k for _, k, _ in await stream(engine, {"blending_started", "blending_ended"})]
    assert kinds == ["blending_started", "blending_ended"]
    leaders = [s.server[BLENDING].leading for s in (first, second)]
    assert sorted(leaders) == [False, True]
    await agent.close()


async def watch_cleared(engine: Engine, rule: str, seen: list[int]) -> None:
    """Append each new value of the rule's ``cleared`` field (ms) until cancelled (or a minute passed,
    should the test have failed before cancelling it)."""
    key = engine.keys.blend(rule)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value = await engine.redis.hget(key, "cleared")
        if value is not None and (not seen or seen[-1] != int(value)):
            seen.append(int(value))
        await asyncio.sleep(0.01)


async def first_offered(agents: list[AgentClient], iid: str) -> AgentClient:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for a in agents:
            if any(f["interaction"]["id"] == iid for f in a.pending("offer")):
                return a
        await asyncio.sleep(0.02)
    raise AssertionError("nobody was offered the chat")


async def next_frame(ws: aiohttp.ClientWebSocketResponse, pred: Any, timeout: float = 10) -> dict[str, Any]:
    async def find() -> dict[str, Any]:
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            if pred(frame):
                return dict(frame)

    return await asyncio.wait_for(find(), timeout)


async def caps_are(engine: Engine, agent: str, want: dict[str, int]) -> bool:
    return await caps(engine, agent) == want


async def wait_until(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")
