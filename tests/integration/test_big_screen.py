"""A big center on the supervisor socket: aggregates for every queue, the agents of one page only, a
``view`` frame that changes the page (and the ``agent`` frames that come), queue frames coalesced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp

from router.realtime.hub import HUB
from tests.conftest import MakeServer
from tests.support.configs import Config, routing
from tests.support.servers import TestServer
from tests.support.supervisors import SupervisorSocket

SALES = [f"a{k:03d}" for k in range(150)]
SUPPORT = [f"a{k:03d}" for k in range(150, 300)]


def _center() -> Config:
    config = (
        routing()
        .queue("sales", skills={"sales": 1}, channels=["chat"], offer_timeout_seconds=30, wrapup_seconds=0)
        .queue("support", skills={"support": 1}, channels=["email"], wrapup_seconds=0)
    )
    agents = [{"id": a, "name": f"Agent {a}", "skills": {"sales": 1}} for a in SALES]
    agents += [{"id": a, "name": f"Agent {a}", "skills": {"support": 1}} for a in SUPPORT]
    return replace(config, agents=agents)


async def _big(make_server: MakeServer) -> TestServer:
    return await make_server(_center())


def upto_state(agent_id: str, state: str, into: list[str]) -> Any:
    """A predicate for the agent's row in ``state``; every agent frame's id on the way goes to ``into``."""

    def pred(f: dict[str, Any]) -> bool:
        if f["type"] != "agent":
            return False
        into.append(f["agent"]["id"])
        return bool(f["agent"]["id"] == agent_id and f["agent"]["state"] == state)

    return pred


async def _until(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Wait for ``check`` to hold, polling; a generous deadline (the server in this process only has to
    get a turn), and a loud failure if it never does."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        await asyncio.sleep(0.01)


def _event_key(event_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in event_id.split("-"))


@asynccontextmanager
async def _socket(server: TestServer, query: str = "") -> AsyncIterator[SupervisorSocket]:
    token = await server.token("supervisor")
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(
            server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={token}{query}", max_msg_size=0
        )
        try:
            yield SupervisorSocket(ws, "")
        finally:
            await ws.close()


async def test_the_snapshot_has_every_queue_and_the_first_page_of_agents(make_server: MakeServer) -> None:
    server = await _big(make_server)
    async with _socket(server) as sup:
        snap = await sup.next(lambda f: f["type"] == "snapshot")
        assert [a["id"] for a in snap["agents"]] == SALES[:50]
        assert snap["view"] == {"queue": None, "page": 0, "page_size": 50, "total": 300}
        queues = {q["id"]: q for q in snap["queues"]}
        assert set(queues) == {"sales", "support"}
        assert queues["sales"]["agents_by_state"]["offline"] == 150
        assert queues["support"]["agents_by_state"]["offline"] == 150
        assert queues["sales"]["stats"]["waiting"] == 0
        assert {c["channel"]: c["queues"] for c in snap["channels"]} == {"chat": 1, "email": 1}

    # the first view can be asked for in the socket's address
    async with _socket(server, "&queue=support&page=2&page_size=10") as sup:
        snap = await sup.next(lambda f: f["type"] == "snapshot")
        assert [a["id"] for a in snap["agents"]] == SUPPORT[20:30]
        assert snap["view"] == {"queue": "support", "page": 2, "page_size": 10, "total": 150}


async def test_view_changes_the_rows_and_which_agent_frames_come(make_server: MakeServer) -> None:
    server = await _big(make_server)
    async with _socket(server) as looking, _socket(server) as default:
        await looking.next(lambda f: f["type"] == "snapshot")
        await default.next(lambda f: f["type"] == "snapshot")
        ack = await looking.call({"type": "view", "queue": "support", "page": 1, "page_size": 20})
        assert ack["type"] == "ack" and ack["result"]["total"] == 150, ack
        page = await looking.next(lambda f: f["type"] == "agents")
        assert [a["id"] for a in page["agents"]] == SUPPORT[20:40]
        assert page["view"] == {"queue": "support", "page": 1, "page_size": 20, "total": 150}

        # a000 is on the default page only, a175 on the viewed page only; a001 comes last as a marker
        clients = [await server.agent("a000"), await server.agent("a175"), await server.agent("a001")]
        seen: list[str] = []

        row = await looking.next(upto_state("a175", "available", seen))
        assert row["agent"]["connected"] is True
        assert "a000" not in seen and "a001" not in seen, seen
        other: list[str] = []
        await default.next(upto_state("a001", "available", other))
        assert "a000" in other and "a175" not in other, other

        # back to the first page of everyone: a175's frames stop, a000's come
        await looking.call({"type": "view"})
        page = await looking.next(lambda f: f["type"] == "agents")
        assert [a["id"] for a in page["agents"]] == SALES[:50]
        a000 = next(a for a in page["agents"] if a["id"] == "a000")
        assert a000["connected"] and a000["state"] == "available"
        await clients[1].set_state("away")
        await clients[0].set_state("away")
        after: list[str] = []
        await looking.next(upto_state("a000", "away", after))
        assert "a175" not in after, after
        for c in clients:
            await c.close()


async def test_queue_frames_are_coalesced_and_end_right(make_server: MakeServer) -> None:
    server = await _big(make_server)
    async with _socket(server) as sup:
        await sup.next(lambda f: f["type"] == "snapshot")
        n = 40
        t0 = time.monotonic()
        await asyncio.gather(
            *(
                server.ingest(
                    channel="chat",
                    queue="sales",
                    content="hi",
                    **{"from": {"kind": "chat_visitor", "value": f"v{k}"}},
                )
                for k in range(n)
            )
        )
        frames: list[dict[str, Any]] = []

        def pred(f: dict[str, Any]) -> bool:
            if f["type"] == "queue" and f["queue"]["id"] == "sales":
                frames.append(f)
                return bool(f["queue"]["stats"]["waiting"] == n)
            return False

        last = await sup.next(pred, timeout=30)
        elapsed = time.monotonic() - t0
        assert last["queue"]["stats"]["waiting"] == n
        assert last["queue"]["stats"]["oldest_wait_seconds"] >= 0
        # at most one frame per 250 ms (the server's span is within the client's), far fewer than events
        assert len(frames) <= elapsed / 0.25 + 1, (len(frames), elapsed)
        assert len(frames) < n
        waits = [f["queue"]["stats"]["waiting"] for f in frames]
        assert waits == sorted(waits), waits


async def test_a_bad_view_is_answered_with_an_error_and_the_socket_stays_open(
    make_server: MakeServer,
) -> None:
    server = await _big(make_server)
    async with _socket(server) as sup:
        await sup.next(lambda f: f["type"] == "snapshot")
        for bad in (
            {"type": "view", "page": -1},
            {"type": "view", "page_size": 1000},
            {"type": "view", "page": "two"},
            {"type": "view", "queue": "nowhere"},
            {"type": "view", "colour": "red"},
        ):
            answer = await sup.call(bad)
            assert answer["type"] == "error", (bad, answer)
        ack = await sup.call({"type": "ping"})
        assert ack["type"] == "ack" and not sup.ws.closed
        # the view was not changed by the refused frames: a viewed agent's frames still come
        client = await server.agent("a010")
        await sup.next(lambda f: f["type"] == "agent" and f["agent"]["id"] == "a010")
        await client.close()

    async with _socket(server, "&page=x&page_size=0") as sup:
        error = await sup.next(lambda f: True)
        assert error["type"] == "error" and error["code"] == "invalid", error
        assert {tuple(e["loc"]) for e in error["errors"]} == {("query", "page"), ("query", "page_size")}
        snap = await sup.next(lambda f: f["type"] == "snapshot")
        assert snap["view"]["page"] == 0 and len(snap["agents"]) == 50


async def test_a_supervisor_opening_after_a_change_nobody_watched_sees_it(make_server: MakeServer) -> None:
    """The queue's figures are reused by snapshots for a second after they are computed; a change that came
    while no supervisor was connected makes them stale at once (a wallboard reconnecting after a network
    cut was shown the queue as it was before the cut)."""
    server = await _big(make_server)
    async with _socket(server) as sup:
        snap = await sup.next(lambda f: f["type"] == "snapshot")
        assert {q["id"]: q["stats"]["waiting"] for q in snap["queues"]}["support"] == 0
    hub = server.server[HUB]
    await _until(lambda: not hub.supervisors, "the server never saw the socket go")
    # nobody is signed in to support: the e-mail waits
    await server.ingest(
        channel="email",
        external_id="<unwatched@example.com>",
        **{"from": {"kind": "email", "value": "unwatched@example.com"}},
        queue="support",
        content="Hello",
    )
    # the hub has handled the ingest's events: it has reached the newest id in the stream (ids are ordered)
    newest = str((await server.redis.xrevrange(server.engine.keys.events, count=1))[0][0])
    await _until(
        lambda: _event_key(hub.last_event_id) >= _event_key(newest),
        "the ingest's events never reached the hub",
    )
    await asyncio.sleep(0.1)
    async with _socket(server) as sup:
        snap = await sup.next(lambda f: f["type"] == "snapshot")
        assert {q["id"]: q["stats"]["waiting"] for q in snap["queues"]}["support"] == 1
