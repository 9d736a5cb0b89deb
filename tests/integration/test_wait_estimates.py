"""Wait estimates through the API: only agents who can take the work now count, the place among the work
those agents serve, widening steps, the 10th-90th percentile range, and a short run with wrap-up where the
estimate follows the measured waits (docs/wait-estimates.md)."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.agents import AgentClient
from tests.support.configs import ALL_CHANNELS, routing
from tests.support.servers import TestServer


def only(**capacity: int) -> dict[str, int]:
    """A capacity that is 0 on every channel not named (unlisted channels take the defaults)."""
    return {ch: capacity.get(ch, 0) for ch in ALL_CHANNELS}


CFG = (
    routing()
    .queue("q", skills={"s": 1}, channels=["voice"], offer_timeout_seconds=30, wrapup_seconds=0)
    .queue("other", skills={"s": 1}, channels=["voice"], offer_timeout_seconds=30, wrapup_seconds=0)
    .queue(
        "wide",
        skills={"s": 9},
        channels=["voice"],
        offer_timeout_seconds=30,
        wrapup_seconds=0,
        steps=[{"after_seconds": 60, "skills": {}}],
    )
    .agent("x", name="X", skills={"s": 5}, capacity=only(voice=1))
    .agent("c", name="C", skills={"s": 5}, capacity=only(chat=3))
)

DEFAULT_HANDLE = 180.0  # the estimate's handle time before any work of the queue has ended


def call(n: int, queue: str = "q") -> dict[str, Any]:
    return {"channel": "voice", "queue": queue, "from": {"kind": "phone", "value": f"+1415555{n:04d}"}}


async def live(server: TestServer, iid: str) -> dict[str, Any]:
    status, body = await server.request("GET", f"/v1/interactions/{iid}", role="adapter")
    assert status == 200, body
    return dict(body)


async def settles(server: TestServer, iid: str, known: bool) -> dict[str, Any]:
    """The interaction once its estimate is known (or unknown): a change of presence reaches the
    estimates through the event stream, a moment after the socket's ack."""
    for _ in range(100):
        body = await live(server, iid)
        if (body["estimated_wait_seconds"] is not None) == known:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"estimate never became {'known' if known else 'unknown'}: {body}")


def ordered(body: dict[str, Any]) -> None:
    low, high = body["estimated_wait_range"]
    assert 0 < low <= body["estimated_wait_seconds"] <= high, body


async def test_away_agents_and_other_channel_agents_give_null(make_server: Any) -> None:
    server: TestServer = await make_server(CFG)
    x = await server.agent("x")
    first = await server.ingest(**call(1))
    await x.accept_next()
    second = await server.ingest(**call(2))
    # x is busy but present: it will take the call when the first ends
    assert second["position"] == 1
    ordered(second)
    assert second["estimated_wait_seconds"] == pytest.approx(DEFAULT_HANDLE, rel=0.01)
    ordered(await live(server, second["id"]))
    # the only agent goes away (still holding the first call): nobody can take it now, so no number
    await x.set_state("away")
    body = await settles(server, second["id"], known=False)
    assert body["estimated_wait_seconds"] is None and body["estimated_wait_range"] is None
    assert body["position"] == 1
    third = await server.ingest(**call(3))
    assert third["estimated_wait_seconds"] is None and third["estimated_wait_range"] is None
    # an available agent with capacity on another channel only does not count either
    c = await server.agent("c")
    await asyncio.sleep(0.3)
    body = await live(server, second["id"])
    assert body["estimated_wait_seconds"] is None and body["estimated_wait_range"] is None
    # x back: the estimate comes back
    await x.set_state("available")
    ordered(await settles(server, second["id"], known=True))
    assert first["id"]
    await x.close()
    await c.close()


async def test_the_place_among_the_work_the_same_agents_serve(make_server: Any) -> None:
    server: TestServer = await make_server(CFG)
    x = await server.agent("x")
    await server.ingest(**call(1))
    await x.accept_next()
    # two calls of another queue that x also serves arrived first: they go before this one
    await server.ingest(**call(2, "other"))
    await server.ingest(**call(3, "other"))
    mine = await server.ingest(**call(4))
    assert mine["position"] == 1, "first in its own queue"
    assert mine["estimated_wait_seconds"] == pytest.approx(3 * DEFAULT_HANDLE, rel=0.01)
    ordered(mine)
    # a widening step: x meets only the step that applies after 60 s, so x counts from then
    wide = await server.ingest(**call(5, "wide"))
    # x serves the waiting calls of q and other (three, ranked before it) first
    assert wide["estimated_wait_seconds"] == pytest.approx(60 + 4 * DEFAULT_HANDLE, abs=2)
    ordered(wide)
    await x.close()


async def test_a_closed_queue_that_holds_its_work_adds_the_time_to_opening(make_server: Any) -> None:
    server: TestServer = await make_server(CFG)
    x = await server.agent("x")  # present and idle: it takes the call the moment the queue opens
    zone = next(
        z
        for z in map(ZoneInfo, ("Asia/Seoul", "Europe/Berlin", "America/New_York", "Pacific/Auckland"))
        if 2 <= datetime.now(z).hour <= 21
    )
    local = datetime.now(zone)
    opening = (local + timedelta(hours=1)).replace(microsecond=0)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    hours = {"timezone": str(zone), "weekly": {day: [[opening.strftime("%H:%M:%S"), "23:59"]]}}
    queue = {"skills": {"s": 1}, "channels": ["voice"], "offer_timeout_seconds": 30, "wrapup_seconds": 0}
    status, put = await server.request(
        "PUT", "/v1/queues/later", {**queue, "hours": hours, "closed_action": "wait"}, role="admin"
    )
    assert status in (200, 201) and put["open"] is False, put
    it = await server.ingest(**call(1, "later"))
    assert it["status"] == "queued" and it["position"] == 1
    to_opening = (opening - datetime.now(zone)).total_seconds()
    # the hour to opening, then at most a handle time (x is idle: most likely at once)
    assert to_opening - 5 <= it["estimated_wait_seconds"] <= to_opening + DEFAULT_HANDLE
    low, high = it["estimated_wait_range"]
    assert to_opening - 5 <= low <= it["estimated_wait_seconds"] <= high
    body = await live(server, it["id"])
    assert body["estimated_wait_seconds"] == pytest.approx(it["estimated_wait_seconds"], abs=5)
    await x.close()


@pytest.mark.slow
async def test_with_wrapup_the_estimate_follows_the_measured_waits(make_server: Any) -> None:
    """Two agents, 0.2 s of talk and 0.6 s of wrap-up per call: a burst of calls is told its wait at
    arrival, then the real waits are measured. The old method (position x talk time / connected
    agents) would tell each about a quarter of it."""
    talk, wrapup = 0.2, 0.6
    cfg = routing().queue(
        "w", skills={"s": 1}, channels=["voice"], offer_timeout_seconds=30, wrapup_seconds=wrapup
    )
    cfg = cfg.agents_like(["a1", "a2"], skills={"s": 1}, capacity=only(voice=1))
    server: TestServer = await make_server(cfg)
    agents = [await server.agent("a1"), await server.agent("a2")]
    offered: dict[str, float] = {}
    talks: list[float] = []

    async def work(agent: AgentClient) -> None:
        while True:
            offer, _ = await agent.accept_next(timeout=60)
            iid = offer["interaction"]["id"]
            offered.setdefault(iid, time.monotonic())
            started = time.monotonic()
            await asyncio.sleep(talk)
            talks.append(time.monotonic() - started)
            ack = await agent.call({"type": "complete", "interaction_id": iid})
            assert ack["type"] == "ack", ack

    workers = [asyncio.create_task(work(a)) for a in agents]
    try:
        # warm-up: the router measures what a call holds an agent (talk and wrap-up)
        for n in range(6):
            await server.ingest(**call(100 + n, "w"))
        while len(offered) < 6:
            await asyncio.sleep(0.05)
        await asyncio.sleep(talk + wrapup + 0.3)
        Told = tuple[str, float, float, int, list[float]]

        async def arrive(n: int) -> Told | None:
            arrived = time.monotonic()
            it = await server.ingest(**call(200 + n, "w"))
            if not it["position"]:
                return None  # taken at once by an idle agent: nothing to estimate
            return it["id"], arrived, it["estimated_wait_seconds"], it["position"], it["estimated_wait_range"]

        # The burst is what gets queued: all but the two calls the idle agents take, provided it has
        # landed before they are free again (talk + wrap-up, 0.8 s). Its ten requests go out together,
        # so it lands in about the time of one request under load, not of ten in a row
        told = [t for t in await asyncio.gather(*(arrive(n) for n in range(10))) if t is not None]
        told.sort(key=lambda t: t[3])  # by position
        deadline = time.monotonic() + 60
        while any(iid not in offered for iid, *_ in told) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for a in agents:
            await a.close()
    assert len(told) >= 6  # 8 when the burst landed within a hold; the comparison needs a few
    mean_talk = sum(talks) / len(talks)
    errors, old_errors = [], []
    for iid, arrived, estimate, position, (low, high) in told:
        waited = offered[iid] - arrived
        old = position * mean_talk / 2
        assert low <= estimate <= high
        errors.append(estimate - waited)
        old_errors.append(old - waited)
        print(
            f"position {position}: told {estimate:.2f} s [{low:.2f}, {high:.2f}],"
            f" waited {waited:.2f} s, old {old:.2f} s"
        )
    rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
    old_rmse = math.sqrt(sum(e * e for e in old_errors) / len(old_errors))
    print(f"RMSE: router {rmse:.2f} s, old method {old_rmse:.2f} s over {len(told)} calls")
    assert rmse < 0.5 * old_rmse
