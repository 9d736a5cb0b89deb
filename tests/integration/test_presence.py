"""Presence with reasons over the real server and sockets: the reasons an agent may give, every change
recorded once in PostgreSQL (however many router processes read it), the time per state and reason,
and the reason reaching the desktop and the wallboard."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp

from router.routing import events
from tests.support.agents import AgentClient
from tests.support.configs import routing
from tests.support.servers import TestServer

CONFIG = (
    routing()
    .with_presence(away_reasons=["lunch", "break", "coaching_1-1"])
    .queue("q", skills={"s": 1}, channels=["chat"])
    .agent("x", name="X", skills={"s": 5})
    .agent("y", name="Y", skills={"s": 5})
)


async def live_state(server: TestServer, agent_id: str) -> tuple[str, str]:
    live = await server.engine.agent_live(agent_id)
    return live.get("state", ""), live.get("reason", "")


async def rows(server: TestServer, agent_id: str) -> list[tuple[str, str]]:
    found = await server.pool.fetch(
        "SELECT state, reason FROM agent_states WHERE agent_id = $1 ORDER BY at, id", agent_id
    )
    return [(r["state"], r["reason"]) for r in found]


async def wait_rows(server: TestServer, agent_id: str, n: int) -> list[tuple[str, str]]:
    deadline = time.monotonic() + 15
    while True:
        got = await rows(server, agent_id)
        if len(got) >= n or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.05)


async def wait_last(server: TestServer, agent_id: str, row: tuple[str, str]) -> list[tuple[str, str]]:
    """The agent's rows once ``row`` is the last of them (changes are recorded in batches, a tenth of a
    second or so after they happen), or as they are after 15 s."""
    deadline = time.monotonic() + 15
    while True:
        got = await rows(server, agent_id)
        if (got and got[-1] == row) or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.05)


async def states(server: TestServer, agent_id: str, query: str = "", **kw: Any) -> tuple[int, Any]:
    return await server.request("GET", f"/v1/agents/{agent_id}/states{query}", **kw)


async def test_an_away_reason_not_listed_is_refused_and_changes_nothing(make_server: Any) -> None:
    server: TestServer = await make_server(CONFIG)
    x = await server.agent("x", available=False)
    assert x.hello["away_reasons"] == ["lunch", "break", "coaching_1-1", "missed"]
    assert x.hello["state"] == "away" and x.hello["state_reason"] == ""
    before = await wait_rows(server, "x", 1)
    assert before == [("away", "")]  # the connect

    for frame, loc in (
        ({"state": "away", "reason": "coffee"}, ["reason"]),
        ({"state": "away", "reason": "LUNCH"}, ["reason"]),  # reasons are exact
        ({"state": "available", "reason": "lunch"}, ["reason"]),  # a reason goes only with away
        ({"state": "offline", "reason": "break"}, ["reason"]),
    ):
        err = await x.call({"type": "set_state", **frame})
        assert err["type"] == "error" and err["code"] == "invalid", err
        assert err["errors"][0]["loc"] == loc
        assert await live_state(server, "x") == ("away", "")
    bad = await x.call({"type": "set_state", "state": "away", "reason": "lunch\u0000"})
    assert bad["type"] == "error" and bad["code"] == "invalid_frame"
    assert (await x.call({"type": "ping"}))["type"] == "ack", "the socket stays open"
    await asyncio.sleep(0.3)
    assert await rows(server, "x") == before, "nothing was recorded"
    assert all(f["reason"] == "" for f in x.pending("state"))

    # listed reasons, and missed, are taken; the desktop is told by a state frame with the reason
    for reason in ("lunch", "coaching_1-1", "missed"):
        ack = await x.call({"type": "set_state", "state": "away", "reason": reason})
        assert ack["type"] == "ack" and ack["result"]["reason"] == reason, ack
        frame = await x.next("state", reason=reason)
        assert frame["state"] == "away"
        assert await live_state(server, "x") == ("away", reason)
    ack = await x.call({"type": "set_state", "state": "available"})
    assert ack["result"] == {"state": "available", "reason": "", "state_since": ack["result"]["state_since"]}
    assert await wait_rows(server, "x", 5) == [
        ("away", ""),
        ("away", "lunch"),
        ("away", "coaching_1-1"),
        ("away", "missed"),
        ("available", ""),
    ]
    await x.close()


async def test_the_wallboard_and_a_reconnect_see_the_reason(make_server: Any) -> None:
    server: TestServer = await make_server(CONFIG)
    token = await server.token("supervisor")
    x = await server.agent("x", available=False)
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={token}")

        async def agent_frame(reason: str) -> dict[str, Any]:
            while True:
                msg = await asyncio.wait_for(ws.receive(), 10)
                frame = json.loads(msg.data)
                for a in (
                    frame.get("agents", [])
                    if frame["type"] == "snapshot"
                    else [frame["agent"]]
                    if frame["type"] == "agent"
                    else []
                ):
                    if a["id"] == "x" and a["reason"] == reason:
                        return dict(a)

        await agent_frame("")
        assert (await x.call({"type": "set_state", "state": "away", "reason": "break"}))["type"] == "ack"
        seen = await agent_frame("break")
        assert seen["state"] == "away" and seen["connected"]
        await ws.close()
    await x.close()
    # a new desktop resumes in the state and with the reason it had
    again = await server.agent("x", available=False)
    assert (again.hello["state"], again.hello["state_reason"]) == ("away", "break")
    await again.close()


async def test_history_answers_time_per_state_and_reason_recorded_once(make_server: Any) -> None:
    """Two router processes share the domain's stream; each change is stored once (by the process whose
    decision log read it). A scripted sequence gives durations within generous bounds (a slow machine
    only makes them longer)."""
    server: TestServer = await make_server(CONFIG)
    await make_server(CONFIG)  # a second process on the same database and Redis, its log reading too
    start = datetime.now(UTC)
    await asyncio.sleep(0.05)
    x = await server.agent("x", available=False)
    steps: list[tuple[dict[str, Any], float]] = [
        ({"state": "available"}, 1.0),
        ({"state": "away", "reason": "lunch"}, 1.5),
        ({"state": "away", "reason": "break"}, 0.5),
    ]
    await asyncio.sleep(0.8)  # away, as connected
    for frame, hold in steps:
        assert (await x.call({"type": "set_state", **frame}))["type"] == "ack"
        await asyncio.sleep(hold)
    await x.close()  # the desktop drops: offline, disconnected
    await asyncio.sleep(0.6)
    end = datetime.now(UTC)
    assert await wait_rows(server, "x", 5) == [
        ("away", ""),
        ("available", ""),
        ("away", "lunch"),
        ("away", "break"),
        ("offline", "disconnected"),
    ]
    await asyncio.sleep(0.3)
    assert len(await rows(server, "x")) == 5, "each change stored once, by one of the processes"

    q = f"?from={quote(start.isoformat())}&to={quote(end.isoformat())}"
    status, body = await states(server, "x", q, role="supervisor")
    assert status == 200, body
    totals = {(t["state"], t["reason"]): t["seconds"] for t in body["totals"]}
    assert set(totals) == {
        ("away", ""),
        ("available", ""),
        ("away", "lunch"),
        ("away", "break"),
        ("offline", "disconnected"),
    }
    expected = {("away", ""): 0.8, ("available", ""): 1.0, ("away", "lunch"): 1.5, ("away", "break"): 0.5}
    for key, held in expected.items():
        assert held - 0.05 <= totals[key] <= held + 3.0, (key, totals[key])
    # the whole range is accounted for, from the first change to `to`
    first = datetime.fromisoformat(body["changes"][0]["at"])
    assert abs(sum(totals.values()) - (end - first).total_seconds()) < 0.01
    assert [(c["state"], c["reason"]) for c in body["changes"]] == [
        ("away", ""),
        ("available", ""),
        ("away", "lunch"),
        ("away", "break"),
        ("offline", "disconnected"),
    ]
    assert body["agent_id"] == "x" and body["from"] and body["to"]

    # a range that starts inside a state counts it from `from`
    lunch_at = datetime.fromisoformat(body["changes"][2]["at"])
    inside = lunch_at + timedelta(seconds=0.5)
    q2 = f"?from={quote(inside.isoformat())}&to={quote((inside + timedelta(seconds=0.5)).isoformat())}"
    status, part = await states(server, "x", q2, role="supervisor")
    assert status == 200 and part["totals"] == [{"state": "away", "reason": "lunch", "seconds": 0.5}]

    # who may ask, and what is refused
    x_token = await server.token("agent", "x")
    y_token = await server.token("agent", "y")
    assert (await states(server, "x", q, token=x_token))[0] == 200, "an agent reads its own history"
    assert (await states(server, "x", q, token=y_token))[0] == 403
    assert (await states(server, "x", q, token=server.admin_token))[0] == 200
    assert (await states(server, "nobody", q, role="supervisor"))[0] == 404
    assert (await states(server, "x", "?from=yesterday", role="supervisor"))[0] == 422
    assert (await states(server, "x", "?from=2026-01-01T00:00:00", role="supervisor"))[0] == 422  # no zone
    status, problem = await states(
        server, "x", f"?from={quote(end.isoformat())}&to={quote(start.isoformat())}", role="supervisor"
    )
    assert status == 422 and problem["errors"][0]["loc"] == ["query", "to"]
    status, default = await states(server, "x", role="supervisor")  # the last 24 hours
    assert status == 200 and {(t["state"], t["reason"]) for t in default["totals"]} == set(totals)


async def test_a_change_the_router_makes_is_recorded_and_shown(make_server: Any) -> None:
    """A change made by a script other than set_state (a missed offer puts the agent away, reason
    missed) is the same agent_state event: recorded, and sent to the desktop as a state frame."""
    server: TestServer = await make_server(CONFIG)
    x: AgentClient = await server.agent("x")
    await wait_rows(server, "x", 1)
    at = int(time.time() * 1000)
    await events.publish(
        server.engine,
        "agent_state",
        {"agent_id": "x", "state": "away", "reason": "missed", "at": at, "since": at, "connected": True},
    )
    frame = await x.next("state", reason="missed")
    assert frame["state"] == "away" and abs(frame["state_since"] - at / 1000) < 0.001
    assert (await wait_last(server, "x", ("away", "missed")))[-1] == ("away", "missed")
    await x.close()
