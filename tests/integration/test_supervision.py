"""Supervising live work over the real server: the wallboard's list of live interactions, and watching
one live over the supervisor socket (audited; agents cannot)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.support.servers import TestServer


async def test_supervisors_list_live_interactions_with_agent_customer_and_time_in_work(
    server: TestServer,
) -> None:
    carol = await server.agent("carol")
    held = await server.ingest(
        channel="chat",
        queue="chat",
        external_id="chat-dana-1",
        content="hi",
        customer={"name": "Dana"},
        **{"from": {"kind": "chat_visitor", "value": "dana"}},
    )
    await carol.accept_next()
    waiting = await server.ingest(
        channel="email",
        queue="general",
        content="hi",
        **{"from": {"kind": "email", "value": "e@example.com"}},
    )
    await asyncio.sleep(0.2)

    status, live = await server.request("GET", "/v1/interactions?status=assigned", role="supervisor")
    assert status == 200, live
    (row,) = live
    assert row["id"] == held["id"] and row["agent_id"] == "carol" and row["agent_name"] == "Carol"
    assert row["channel"] == "chat" and row["customer_id"] == held["customer_id"]
    assert row["from_value"] == "dana" and row["seconds_in_work"] >= 0.2
    status, queued = await server.request("GET", "/v1/interactions?status=queued", token=server.admin_token)
    assert status == 200 and [r["id"] for r in queued] == [waiting["id"]]
    assert queued[0]["agent_id"] is None and queued[0]["seconds_in_work"] is None

    # agents and adapters may not list; a status that is not a live one is refused
    for token in (await server.token("agent", "carol"), await server.token("adapter")):
        status, body = await server.request("GET", "/v1/interactions?status=assigned", token=token)
        assert status == 403 and server.last_content_type == "application/problem+json", body
    status, _ = await server.request("GET", "/v1/interactions?status=completed", role="supervisor")
    assert status == 422 and server.last_content_type == "application/problem+json"

    # the lookup by provider id still answers one interaction
    status, one = await server.request(
        "GET", "/v1/interactions?channel=chat&external_id=chat-dana-1", role="adapter"
    )
    assert status == 200 and one["id"] == held["id"]
    await carol.close()


class SupervisorSocket:
    """The supervisor socket as the wallboard drives it: frames read in order, by predicate."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def next(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                frame = json.loads(msg.data)
                if pred(frame):
                    return dict(frame)

        return await asyncio.wait_for(find(), timeout)

    async def call(self, frame: dict[str, Any]) -> dict[str, Any]:
        await self.ws.send_json(frame)
        return await self.next(lambda f: f["type"] in ("ack", "error") and f.get("ref") == frame["ref"])


async def test_a_watching_supervisor_receives_each_message_of_both_sides_and_the_notes(
    server: TestServer,
) -> None:
    carol = await server.agent("carol")
    it = await server.ingest(
        channel="chat", queue="chat", content="first", **{"from": {"kind": "chat_visitor", "value": "w1"}}
    )
    await carol.accept_next()
    status, made = await server.request(
        "POST", "/v1/tokens", {"role": "supervisor", "name": "Sam"}, token=server.admin_token
    )
    assert status == 201
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(
            server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={made['token']}"
        )
        sup = SupervisorSocket(ws)
        await sup.next(lambda f: f["type"] == "snapshot")

        # bad frames get an error frame and the socket stays open
        bad = await sup.call({"type": "watch", "ref": "b1"})
        assert bad["type"] == "error" and bad["code"] == "invalid_frame"
        unknown = await sup.call({"type": "watch", "interaction_id": str(uuid.uuid4()), "ref": "b2"})
        assert unknown["type"] == "error" and unknown["code"] == "not_found"
        await ws.send_str("not json")
        assert (await sup.next(lambda f: f["type"] == "error"))["code"] == "invalid_frame"

        ack = await sup.call({"type": "watch", "interaction_id": it["id"], "ref": "w"})
        assert ack["type"] == "ack" and ack["result"]["status"] == "assigned", ack

        def watched(kind: str) -> Callable[[dict[str, Any]], bool]:
            return lambda f: f["type"] == "watched" and f["interaction_id"] == it["id"] and f["kind"] == kind

        for n in range(3):
            status, _ = await server.request(
                "POST", f"/v1/interactions/{it['id']}/messages", {"body": f"customer {n}"}, role="adapter"
            )
            assert status == 201
            got = await sup.next(watched("message"))
            assert got["data"]["message"]["body"] == f"customer {n}"
            assert got["data"]["message"]["direction"] == "inbound"
            reply = await carol.call(
                {"type": "send_message", "interaction_id": it["id"], "body": f"agent {n}"}
            )
            assert reply["type"] == "ack", reply
            got = await sup.next(watched("message"))
            assert got["data"]["message"]["body"] == f"agent {n}"
            assert got["data"]["message"]["direction"] == "outbound"
        assert (await carol.call({"type": "add_note", "interaction_id": it["id"], "body": "vip"}))[
            "type"
        ] == "ack"
        note = await sup.next(watched("note"))
        assert note["data"]["note"]["body"] == "vip" and note["data"]["by"] == "carol"

        assert (await sup.call({"type": "unwatch", "interaction_id": it["id"], "ref": "u"}))["type"] == "ack"
        status, _ = await server.request(
            "POST", f"/v1/interactions/{it['id']}/messages", {"body": "after"}, role="adapter"
        )
        assert status == 201
        await asyncio.sleep(0.5)  # a watched frame, if one were sent, would come before the ack below
        await ws.send_json({"type": "ping", "ref": "p2"})
        frame = await sup.next(lambda f: f["type"] in ("watched", "ack"))
        assert frame["type"] == "ack", f"an unwatched interaction still reached the supervisor: {frame}"
        await ws.close()

    # the agent's desktop was not told: no frame of the watch reached it
    assert not [f for f in carol.frames if "watch" in json.dumps(f)], carol.frames
    status, entries = await server.request("GET", f"/v1/interactions/{it['id']}/audit", role="supervisor")
    assert [(e["action"], e["actor_id"]) for e in entries] == [("watch", made["id"]), ("unwatch", made["id"])]
    await carol.close()


async def test_an_agent_token_cannot_open_the_supervisor_socket_to_watch(server: TestServer) -> None:
    token = await server.token("agent", "carol")
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + f"/v1/supervisor/socket?token={token}") as resp:
            assert resp.status == 403 and resp.content_type == "application/problem+json"


async def test_a_whisper_reaches_the_agent_only_and_is_kept_as_a_coaching_note(server: TestServer) -> None:
    carol = await server.agent("carol")
    it = await server.ingest(
        channel="chat", queue="chat", content="help", **{"from": {"kind": "chat_visitor", "value": "wh1"}}
    )
    await carol.accept_next()
    status, made = await server.request(
        "POST", "/v1/tokens", {"role": "supervisor", "name": "Sam"}, token=server.admin_token
    )
    assert status == 201
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(
            server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={made['token']}"
        )
        sup = SupervisorSocket(ws)
        await sup.next(lambda f: f["type"] == "snapshot")
        text = "Offer the refund — 10 % off ✓"
        ack = await sup.call({"type": "whisper", "interaction_id": it["id"], "body": text, "ref": "w"})
        assert ack["type"] == "ack", ack
        whisper = await carol.next("whisper")
        assert whisper["interaction_id"] == it["id"] and whisper["body"] == text
        assert whisper["by"] == f"supervisor:{made['id']}"

        empty = await sup.call({"type": "whisper", "interaction_id": it["id"], "body": "", "ref": "e"})
        assert empty["type"] == "error" and empty["code"] == "invalid_frame"
        # a whisper into work nobody holds is refused, and nothing is recorded for it
        waiting = await server.ingest(
            channel="email",
            queue="general",
            content="x",
            **{"from": {"kind": "email", "value": "w@example.com"}},
        )
        refused = await sup.call(
            {"type": "whisper", "interaction_id": waiting["id"], "body": "hi", "ref": "r"}
        )
        assert refused["type"] == "error" and refused["code"] == "conflict"
        assert (await sup.call({"type": "ping", "ref": "p"}))["type"] == "ack", "the socket stayed open"
        await ws.close()

    # never the customer's: no message was stored or sent, and the agent got no message frame of it
    status, view = await server.request("GET", f"/v1/interactions/{it['id']}", role="supervisor")
    assert [m["body"] for m in view["messages"]] == ["help"]
    assert not [f for f in carol.frames if f["type"] == "message" and f["message"]["body"] == text]
    # kept as a coaching note in the interaction's audit, with who and when
    status, entries = await server.request("GET", f"/v1/interactions/{it['id']}/audit", role="supervisor")
    (entry,) = entries
    assert entry["action"] == "whisper" and entry["actor_id"] == made["id"]
    assert entry["detail"] == {"body": text, "agent_id": "carol"}
    status, other = await server.request("GET", f"/v1/interactions/{waiting['id']}/audit", role="supervisor")
    assert other == []
    await carol.close()
