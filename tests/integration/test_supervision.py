"""Supervising live work over the real server: the wallboard's list of live interactions; watching one
live over the supervisor socket, whispering to its agent, barging in and taking it over (each audited;
agents cannot); collision warnings when two agents hold live work of one customer."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from tests.conftest import MakeServer
from tests.support.agents import AgentClient
from tests.support.configs import ALL_CHANNELS, DEFAULT, routing, with_adapters
from tests.support.servers import TestServer
from tests.support.supervisors import supervisor


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


async def held_chat(
    server: TestServer, agent: AgentClient, visitor: str, content: str = "hi"
) -> dict[str, Any]:
    """A chat from ``visitor``, accepted by ``agent``."""
    it = await server.ingest(
        channel="chat", queue="chat", content=content, **{"from": {"kind": "chat_visitor", "value": visitor}}
    )
    offer, _ = await agent.accept_next()
    assert offer["interaction"]["id"] == it["id"]
    return it


async def audit(server: TestServer, interaction_id: str) -> list[dict[str, Any]]:
    status, entries = await server.request(
        "GET", f"/v1/interactions/{interaction_id}/audit", role="supervisor"
    )
    assert status == 200, entries
    return list(entries)


async def test_a_watching_supervisor_receives_each_message_of_both_sides_and_the_notes(
    server: TestServer,
) -> None:
    carol = await server.agent("carol")
    it = await held_chat(server, carol, "w1", "first")
    async with supervisor(server) as sup:
        ws = sup.ws
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

    # the agent's desktop was not told: no frame of the watch reached it
    assert not [f for f in carol.frames if "watch" in json.dumps(f)], carol.frames
    assert [(e["action"], e["actor_id"]) for e in await audit(server, it["id"])] == [
        ("watch", sup.token_id),
        ("unwatch", sup.token_id),
    ]
    await carol.close()


async def test_an_agent_token_cannot_open_the_supervisor_socket_to_watch(server: TestServer) -> None:
    token = await server.token("agent", "carol")
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + f"/v1/supervisor/socket?token={token}") as resp:
            assert resp.status == 403 and resp.content_type == "application/problem+json"


async def test_a_whisper_reaches_the_agent_only_and_is_kept_as_a_coaching_note(server: TestServer) -> None:
    carol = await server.agent("carol")
    it = await held_chat(server, carol, "wh1", "help")
    async with supervisor(server) as sup:
        text = "Offer the refund — 10 % off ✓"
        ack = await sup.call({"type": "whisper", "interaction_id": it["id"], "body": text, "ref": "w"})
        assert ack["type"] == "ack", ack
        whisper = await carol.next("whisper")
        assert whisper["interaction_id"] == it["id"] and whisper["body"] == text
        assert whisper["by"] == f"supervisor:{sup.token_id}"

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

    # never the customer's: no message was stored or sent, and the agent got no message frame of it
    status, view = await server.request("GET", f"/v1/interactions/{it['id']}", role="supervisor")
    assert status == 200 and [m["body"] for m in view["messages"]] == ["help"]
    assert not [f for f in carol.frames if f["type"] == "message" and f["message"]["body"] == text]
    # kept as a coaching note in the interaction's audit, with who and when
    (entry,) = await audit(server, it["id"])
    assert entry["action"] == "whisper" and entry["actor_id"] == sup.token_id
    assert entry["detail"] == {"body": text, "agent_id": "carol"}
    assert await audit(server, waiting["id"]) == []
    await carol.close()


# ---------------------------------------------------------------- the web chat customer's side


class Visitor:
    """A customer on the web chat adapter's socket: every frame the page receives is kept."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def next(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                frame = await self.ws.receive_json()
                self.frames.append(frame)
                if pred(frame):
                    return dict(frame)

        return await asyncio.wait_for(find(), timeout)

    async def say(self, ident: str, text: str) -> dict[str, Any]:
        await self.ws.send_json({"type": "message", "id": ident, "text": text})
        return await self.next(lambda f: f["type"] == "ack" and f["id"] == ident)


@asynccontextmanager
async def visitor(server: TestServer, visitor_id: str) -> AsyncIterator[Visitor]:
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(server.url.replace("http", "ws") + "/adapters/webchat/socket")
        await ws.send_json({"type": "hello", "visitor_id": visitor_id})
        customer = Visitor(ws)
        await customer.next(lambda f: f["type"] == "welcome")
        try:
            yield customer
        finally:
            await ws.close()


async def test_a_supervisor_watching_a_web_chat_gets_both_sides_and_the_customer_sees_no_sign(
    make_server: MakeServer,
) -> None:
    server = await make_server(with_adapters(webchat={"poll_seconds": 0.1}))
    carol = await server.agent("carol")
    async with visitor(server, "quiet-visitor-1") as customer, supervisor(server) as sup:
        iid = (await customer.say("c0", "Hello?"))["interaction_id"]
        await carol.accept_next()
        await customer.next(lambda f: f["type"] == "status" and f["status"] == "assigned")
        assert (await sup.call({"type": "watch", "interaction_id": iid}))["type"] == "ack"

        def watched(body: str) -> Callable[[dict[str, Any]], bool]:
            return lambda f: (
                f["type"] == "watched" and f["kind"] == "message" and f["data"]["message"]["body"] == body
            )

        for n in range(2):
            await customer.say(f"c{n + 1}", f"customer line {n}")
            got = await sup.next(watched(f"customer line {n}"))
            assert got["interaction_id"] == iid and got["data"]["message"]["direction"] == "inbound"
            ack = await carol.call({"type": "send_message", "interaction_id": iid, "body": f"agent line {n}"})
            assert ack["type"] == "ack", ack
            got = await sup.next(watched(f"agent line {n}"))
            assert got["data"]["message"]["direction"] == "outbound"
            line = await customer.next(lambda f: f["type"] == "message")
            assert (line["sender"], line["text"]) == ("agent", f"agent line {n}")

        # everything the customer's page received: its acks, its status, the agent's lines; nothing of
        # the supervisor (no frame type beyond these, no word of a watch or a supervisor)
        assert {f["type"] for f in customer.frames} <= {"welcome", "ack", "status", "message"}
        assert [f["sender"] for f in customer.frames if f["type"] == "message"] == ["agent", "agent"]
        assert not [f for f in customer.frames if "supervisor" in json.dumps(f) or "watch" in json.dumps(f)]
    await carol.close()


async def test_a_barge_reaches_the_web_chat_customer_as_the_supervisor_and_the_agent_sees_it_marked(
    make_server: MakeServer,
) -> None:
    server = await make_server(with_adapters(webchat={"poll_seconds": 0.1}))
    carol = await server.agent("carol")
    async with visitor(server, "barged-visitor-1") as customer, supervisor(server) as sup:
        iid = (await customer.say("c0", "I want a refund"))["interaction_id"]
        await carol.accept_next()
        text = "This is the team lead: the refund is on its way ✓"
        ack = await sup.call({"type": "barge", "interaction_id": iid, "body": text})
        assert ack["type"] == "ack", ack

        line = await customer.next(lambda f: f["type"] == "message")
        assert line["text"] == text and line["sender"] == "supervisor"
        assert line["agent_id"] == f"supervisor:{sup.token_id}"
        seen = await carol.next("message")
        assert seen["interaction_id"] == iid and seen["message"]["body"] == text
        assert seen["message"]["direction"] == "outbound"
        assert seen["message"]["agent_id"] == f"supervisor:{sup.token_id}"

        # the transcript keeps it, marked; the agent's own replies stay theirs
        assert (await carol.call({"type": "send_message", "interaction_id": iid, "body": "Done."}))[
            "type"
        ] == "ack"
        status, view = await server.request("GET", f"/v1/interactions/{iid}", role="supervisor")
        assert status == 200
        assert [(m["body"], m["agent_id"]) for m in view["messages"]] == [
            ("I want a refund", None),
            (text, f"supervisor:{sup.token_id}"),
            ("Done.", "carol"),
        ]

        # nothing to barge into once nobody holds it: refused, not sent, not recorded
        assert (await carol.call({"type": "complete", "interaction_id": iid}))["type"] == "ack"
        refused = await sup.call({"type": "barge", "interaction_id": iid, "body": "late"})
        assert refused["type"] == "error" and refused["code"] == "conflict"
    (entry,) = await audit(server, iid)
    assert (entry["action"], entry["actor_role"], entry["actor_id"]) == ("barge", "supervisor", sup.token_id)
    assert entry["detail"] == {"body": text, "agent_id": "carol", "message_id": ack["result"]["message_id"]}
    await carol.close()


# ---------------------------------------------------------------- take over

WITH_SUPERVISOR_AGENT = DEFAULT.agent(
    "sam",
    name="Sam (supervisor)",
    skills={"chat": 5, "general": 5},
    capacity={"voice": 0, "chat": 2, "social": 0, "sms": 0, "email": 0},
)


async def test_take_over_moves_the_chat_to_the_supervisors_desktop_with_its_context_and_place(
    make_server: MakeServer,
) -> None:
    server = await make_server(WITH_SUPERVISOR_AGENT)
    carol = await server.agent("carol")
    it = await held_chat(server, carol, "to1", "my order is late")
    assert (await carol.call({"type": "send_message", "interaction_id": it["id"], "body": "Checking"}))[
        "type"
    ] == "ack"
    assert (await carol.call({"type": "add_note", "interaction_id": it["id"], "body": "angry"}))[
        "type"
    ] == "ack"
    sam = await server.agent("sam")
    async with supervisor(server) as sup:
        ack = await sup.call({"type": "take_over", "interaction_id": it["id"], "agent_id": "sam"})
        assert ack["type"] == "ack", ack
        moved = ack["result"]["to_interaction"]

        told = await carol.next("taken_over")
        assert told == {
            "type": "taken_over",
            "interaction_id": it["id"],
            "to_agent": "sam",
            "to_interaction": moved,
            "by": f"supervisor:{sup.token_id}",
        }
        offer, assigned = await sam.accept_next()
        assert offer["interaction"]["id"] == moved == assigned["interaction"]["id"]
        assert offer["why"]["preference_applied"] is True, offer["why"]
        work = assigned["interaction"]
        # the same customer and conversation: the context travels, with the chat so far and its notes
        assert work["customer_id"] == it["customer_id"] and work["conversation_id"] == it["conversation_id"]
        assert work["parent_id"] == it["id"] and work["channel"] == "chat"
        (before,) = [i for i in assigned["context"]["interactions"] if i["id"] == it["id"]]
        assert [m["body"] for m in before["messages"]] == ["my order is late", "Checking"]
        assert [n["body"] for n in before["notes"]] == ["angry"]
        # and its place: the same enqueue time as the chat it came from
        assert work["enqueued_at"] == before["enqueued_at"]

        # the customer's next line follows to the supervisor
        status, _ = await server.request(
            "POST", f"/v1/interactions/{it['id']}/messages", {"body": "hello?"}, role="adapter"
        )
        assert status == 201
        assert (await sam.next("message"))["message"]["body"] == "hello?"
        # carol no longer holds it
        refused = await carol.call({"type": "send_message", "interaction_id": it["id"], "body": "x"})
        assert refused["type"] == "error"

        # no take-over of work nobody holds, nor by someone who cannot take the queue's work
        again = await sup.call({"type": "take_over", "interaction_id": it["id"], "agent_id": "sam"})
        assert again["type"] == "error" and again["code"] == "conflict"
        other = await held_chat(server, carol, "to2")
        unfit = await sup.call({"type": "take_over", "interaction_id": other["id"], "agent_id": "alice"})
        assert unfit["type"] == "error" and unfit["code"] == "invalid", unfit
        missing = await sup.call({"type": "take_over", "interaction_id": other["id"]})
        assert missing["type"] == "error" and missing["code"] == "invalid_frame"
    (entry,) = await audit(server, it["id"])
    assert (entry["action"], entry["actor_id"]) == ("take_over", sup.token_id)
    assert entry["detail"] == {"agent_id": "carol", "to_agent": "sam", "to_interaction": moved}
    assert await audit(server, other["id"]) == []
    await carol.close()
    await sam.close()


async def test_an_agent_token_can_neither_barge_nor_take_over_and_every_action_is_audited(
    make_server: MakeServer,
) -> None:
    server = await make_server(WITH_SUPERVISOR_AGENT)
    carol = await server.agent("carol")
    it = await held_chat(server, carol, "au1")
    # the agent socket takes none of the supervisor's frames, and the supervisor socket no agent token
    for frame in (
        {"type": "barge", "interaction_id": it["id"], "body": "x"},
        {"type": "take_over", "interaction_id": it["id"], "agent_id": "carol"},
        {"type": "whisper", "interaction_id": it["id"], "body": "x"},
        {"type": "watch", "interaction_id": it["id"]},
    ):
        refused = await carol.call(frame)
        assert refused["type"] == "error" and refused["code"] == "invalid_frame", refused
    token = await server.token("agent", "sam")
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + f"/v1/supervisor/socket?token={token}") as resp:
            assert resp.status == 403
    status, view = await server.request("GET", f"/v1/interactions/{it['id']}", role="supervisor")
    assert status == 200 and [m["body"] for m in view["messages"]] == ["hi"]

    sam = await server.agent("sam")
    async with supervisor(server) as sup:
        for frame in (
            {"type": "watch", "interaction_id": it["id"]},
            {"type": "whisper", "interaction_id": it["id"], "body": "ask for the order number"},
            {"type": "barge", "interaction_id": it["id"], "body": "Hello from the team lead"},
            {"type": "unwatch", "interaction_id": it["id"]},
            {"type": "take_over", "interaction_id": it["id"], "agent_id": "sam"},
        ):
            assert (await sup.call(frame))["type"] == "ack", frame
    entries = await audit(server, it["id"])
    assert [e["action"] for e in entries] == ["watch", "whisper", "barge", "unwatch", "take_over"]
    assert {(e["actor_role"], e["actor_id"]) for e in entries} == {("supervisor", sup.token_id)}
    assert all(e["at"] for e in entries)
    await carol.close()
    await sam.close()


# ---------------------------------------------------------------- collision warnings

TWO_DESKS = (
    routing()
    .queue("general", skills={"general": 1}, channels=ALL_CHANNELS, offer_timeout_seconds=5, wrapup_seconds=0)
    .agent(
        "ann",
        name="Ann",
        skills={"general": 1},
        capacity={"voice": 0, "chat": 2, "email": 0, "social": 0, "sms": 0},
    )
    .agent(
        "ben",
        name="Ben",
        skills={"general": 1},
        capacity={"voice": 0, "chat": 0, "email": 2, "social": 0, "sms": 0},
    )
)


async def test_two_agents_holding_a_chat_and_an_email_of_one_customer_both_see_the_collision(
    make_server: MakeServer,
) -> None:
    server = await make_server(TWO_DESKS)
    ann = await server.agent("ann")
    chat = await server.ingest(
        channel="chat",
        queue="general",
        content="where is my parcel?",
        **{"from": {"kind": "chat_visitor", "value": "col1"}},
        customer={"email": "lee@example.com", "verified": True},
    )
    offer, assigned = await ann.accept_next()
    assert offer["collisions"] == [] and assigned["collisions"] == []
    assert assigned["context"]["collisions"] == []

    ben = await server.agent("ben")
    mail = await server.ingest(
        channel="email",
        queue="general",
        content="Parcel?",
        **{"from": {"kind": "email", "value": "lee@example.com"}},
    )
    assert mail["customer_id"] == chat["customer_id"], "one customer"
    offer, assigned = await ben.accept_next()
    held_by_ann = {"interaction_id": chat["id"], "agent_id": "ann", "channel": "chat"}
    held_by_ben = {"interaction_id": mail["id"], "agent_id": "ben", "channel": "email"}
    # the second agent is warned on the offer and in the work area, and linked to the other one
    assert offer["collisions"] == [held_by_ann]
    assert assigned["collisions"] == [held_by_ann]
    # the first agent is told when the second one is assigned
    told = await ann.next("collision")
    assert told == {"type": "collision", "interaction_id": chat["id"], "collisions": [held_by_ben]}
    # the context record marks it, and a desktop that reconnects finds it in its work list
    assert sorted(assigned["context"]["collisions"], key=lambda c: c["agent_id"]) == [
        held_by_ann,
        held_by_ben,
    ]
    status, record = await server.request(
        "GET", f"/v1/customers/{chat['customer_id']}/context", role="supervisor"
    )
    assert status == 200 and len(record["collisions"]) == 2, record
    await ann.close()
    ann = await server.agent("ann")
    (item,) = ann.hello["work"]
    assert item["interaction"]["id"] == chat["id"] and item["collisions"] == [held_by_ben]

    # once one of them is done, it is no collision any more
    assert (await ben.call({"type": "complete", "interaction_id": mail["id"]}))["type"] == "ack"
    status, record = await server.request(
        "GET", f"/v1/customers/{chat['customer_id']}/context", role="supervisor"
    )
    assert record["collisions"] == []
    await ann.close()
    await ben.close()
