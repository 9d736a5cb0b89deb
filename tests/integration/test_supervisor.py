"""The supervisor socket: a snapshot, then queue and agent statistics pushed as they change; resume."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.support.servers import TestServer


class Supervisor:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def next(self, pred: Any, timeout: float = 10) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                frame = json.loads(msg.data)
                if pred(frame):
                    return dict(frame)

        return await asyncio.wait_for(find(), timeout)


async def test_supervisor_gets_a_snapshot_then_pushed_changes_and_can_resume(server: TestServer) -> None:
    token = await server.token("supervisor")
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={token}")
        sup = Supervisor(ws)
        snap = await sup.next(lambda f: f["type"] == "snapshot")
        assert {q["id"] for q in snap["queues"]} == set(server.directory.queues)
        assert {a["id"] for a in snap["agents"]} == {"alice", "bob", "carol"}
        assert all(q["stats"]["waiting"] == 0 for q in snap["queues"])

        it = await server.ingest(
            channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "s1"}}
        )
        up = await sup.next(lambda f: f["type"] == "queue" and f["queue"]["id"] == "chat")
        assert up["queue"]["stats"]["waiting"] == 1
        event_after_enqueue = up["event_id"]

        carol = await server.agent("carol")
        busy = await sup.next(
            lambda f: f["type"] == "agent" and f["agent"]["id"] == "carol" and f["agent"]["load"]["chat"] == 1
        )
        assert busy["agent"]["connected"] and busy["agent"]["state"] == "available"
        drained = await sup.next(
            lambda f: (
                f["type"] == "queue" and f["queue"]["id"] == "chat" and f["queue"]["stats"]["waiting"] == 0
            )
        )
        assert drained["queue"]["stats"]["agents_busy"] == 1
        await ws.close()

        # a reconnect with the last event id replays what happened since, then a fresh snapshot
        ws2 = await s.ws_connect(
            server.url.replace("http", "ws")
            + f"/v1/supervisor/socket?token={token}&after={event_after_enqueue}"
        )
        sup2 = Supervisor(ws2)
        replay = await sup2.next(lambda f: f["type"] == "event" and f["kind"] == "offer")
        assert replay["data"]["interaction_id"] == it["id"] and replay["data"]["agent_id"] == "carol"
        snap2 = await sup2.next(lambda f: f["type"] == "snapshot")
        carol_row = next(a for a in snap2["agents"] if a["id"] == "carol")
        assert carol_row["load"]["chat"] == 1
        await ws2.close()
        await carol.close()


async def test_supervisor_socket_needs_a_supervisor_token(server: TestServer) -> None:
    agent = await server.token("agent", "carol")
    async with aiohttp.ClientSession() as s:
        try:
            await s.ws_connect(server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={agent}")
            raise AssertionError("an agent opened the supervisor socket")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 403


async def test_a_malformed_resume_id_gets_an_error_frame_and_the_snapshot(server: TestServer) -> None:
    """``?after=`` that is not a stream id is bad input on a socket: the socket opens, an ``error`` frame
    names ``after``, then comes the usual snapshot with nothing replayed, and the socket stays open (a ping
    is acked). A well-formed id far in the future replays nothing either."""
    token = await server.token("supervisor")
    ws_url = server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={token}"
    # an event in the stream, which a replay from the beginning would send before the snapshot
    visitor = {"kind": "chat_visitor", "value": "v-after"}
    await server.ingest(channel="chat", queue="chat", **{"from": visitor})
    async with aiohttp.ClientSession() as s:
        for bad in ("garbage", "1-2-3", "-1", "99999999999999999999999"):
            ws = await s.ws_connect(ws_url + f"&after={bad}")
            sup = Supervisor(ws)
            error = await sup.next(lambda f: True)
            assert error["type"] == "error" and error["code"] == "invalid", (bad, error)
            assert error["errors"][0]["loc"] == ["query", "after"], error
            snapshot = await sup.next(lambda f: True)
            assert snapshot["type"] == "snapshot", (bad, snapshot)
            await ws.send_json({"type": "ping", "ref": bad})
            ack = await sup.next(lambda f: f["type"] == "ack")
            assert ack["ref"] == bad and not ws.closed
            await ws.close()
        ws = await s.ws_connect(ws_url + "&after=99999999999999-0")
        sup = Supervisor(ws)
        first = await sup.next(lambda f: True)
        assert first["type"] == "snapshot"
        await ws.close()
