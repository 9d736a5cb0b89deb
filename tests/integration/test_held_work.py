"""An agent writes only into work it holds now: after a transfer (or completion) its old interaction id
takes no more messages from it, and nothing reaches the conversation's new agent."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from context_store import interactions
from tests.support.configs import routing
from tests.support.servers import TestServer

TWO_AGENTS = (
    routing()
    .queue("q", skills={"s": 1}, channels=["chat", "email"], offer_timeout_seconds=5, wrapup_seconds=0)
    .agent("a01", name="A01", skills={"s": 5}, capacity={"chat": 2, "email": 1})
    .agent("a02", name="A02", skills={"s": 5}, capacity={"chat": 2, "email": 1})
)


async def bodies(server: TestServer, conversation_id: str) -> list[tuple[str, str | None, str]]:
    rows = await server.pool.fetch(
        "SELECT interaction_id, agent_id, body FROM messages WHERE conversation_id = $1 ORDER BY created_at",
        uuid.UUID(conversation_id),
    )
    return [(str(r["interaction_id"]), r["agent_id"], r["body"]) for r in rows]


async def test_the_old_agent_cannot_write_into_a_transferred_chat(make_server: Any) -> None:
    server: TestServer = await make_server(TWO_AGENTS)
    a01 = await server.agent("a01")
    a02 = await server.agent("a02", available=False)
    customer = {"from": {"kind": "email", "value": "held@example.com"}}
    it = await server.ingest(channel="chat", queue="q", content="hello", **customer)
    await a01.accept_next()
    # a01 also answers this customer's e-mail, and keeps it after transferring the chat
    mail = await server.ingest(channel="email", queue="q", content="my order", join_open=False, **customer)
    assert mail["customer_id"] == it["customer_id"]
    await a01.accept_next()
    token01 = await server.token("agent", "a01")
    token02 = await server.token("agent", "a02")
    status, _ = await server.request(
        "POST", f"/v1/interactions/{it['id']}/messages", {"body": "one moment"}, token=token01
    )
    assert status == 201, "while a01 holds the chat, a01 writes in it"

    ack = await a01.call({"type": "transfer", "interaction_id": it["id"], "queue": "q"})
    new_id = ack["result"]["interaction_id"]
    await a02.set_state("available")
    offer, _ = await a02.accept_next()
    assert offer["interaction"]["id"] == new_id
    before = await bodies(server, it["conversation_id"])

    for target in (it["id"], new_id):
        status, problem = await server.request(
            "POST", f"/v1/interactions/{target}/messages", {"body": "still here"}, token=token01
        )
        assert status == 403, (target, status, problem)
        assert server.last_content_type == "application/problem+json"
    assert await bodies(server, it["conversation_id"]) == before, "nothing stored"

    # the holder writes; the conversation's new agent never saw a01's line
    status, reply = await server.request(
        "POST", f"/v1/interactions/{new_id}/messages", {"body": "a02 here"}, token=token02
    )
    assert status == 201 and reply["interaction_id"] == new_id and reply["agent_id"] == "a02"
    seen = await a02.next("message", interaction_id=new_id)
    assert seen["message"]["body"] == "a02 here"
    assert all(f["message"]["body"] != "still here" for f in a02.frames if f.get("type") == "message")
    # a customer's line still follows the transfer (adapters write on the customer's behalf)
    status, followed = await server.request(
        "POST", f"/v1/interactions/{it['id']}/messages", {"body": "thanks"}, role="adapter"
    )
    assert status == 201 and followed["interaction_id"] == new_id

    # completed work takes no more writes either
    assert (await a02.call({"type": "complete", "interaction_id": new_id}))["type"] == "ack"
    status, _ = await server.request(
        "POST", f"/v1/interactions/{new_id}/messages", {"body": "late"}, token=token02
    )
    assert status == 403
    assert [b for _, _, b in await bodies(server, it["conversation_id"])] == [
        "hello",
        "one moment",
        "a02 here",
        "thanks",
    ]
    await a01.close()
    await a02.close()


async def test_a_write_racing_the_transfer_lands_before_it_or_not_at_all(make_server: Any) -> None:
    """The holder check and the insert are one statement that locks the interaction's row: a reply
    sent while the transfer commits is either stored in the interaction it was written to, before the
    transfer, or refused; it never follows the transfer into the new agent's work."""
    server: TestServer = await make_server(TWO_AGENTS)
    a01 = await server.agent("a01")
    token01 = await server.token("agent", "a01")
    for n in range(10):
        it = await server.ingest(
            channel="chat",
            queue="q",
            content="hi",
            **{"from": {"kind": "chat_visitor", "value": f"race-{n}"}},
        )
        await a01.accept_next()
        posts = [
            server.request("POST", f"/v1/interactions/{it['id']}/messages", {"body": f"r{i}"}, token=token01)
            for i in range(5)
        ]
        results = await asyncio.gather(
            a01.call({"type": "transfer", "interaction_id": it["id"], "queue": "q"}), *posts
        )
        assert results[0]["type"] == "ack", results[0]
        statuses = [status for status, _ in results[1:]]
        assert set(statuses) <= {201, 403}, statuses
        stored = await server.pool.fetch(
            "SELECT interaction_id FROM messages WHERE conversation_id = $1 AND agent_id = 'a01'",
            uuid.UUID(it["conversation_id"]),
        )
        assert len(stored) == statuses.count(201)
        assert all(str(row["interaction_id"]) == it["id"] for row in stored), "none followed the transfer"
        new_id = results[0]["result"]["interaction_id"]
        status, _ = await server.request("POST", f"/v1/interactions/{new_id}/end", role="adapter")
        assert status == 200
    await a01.close()


GRACE = (
    routing(reconnect_grace_seconds=1)
    .queue("q", skills={"s": 1}, channels=["chat"], offer_timeout_seconds=5, wrapup_seconds=30)
    .agent("a01", name="A01", skills={"s": 5}, capacity={"chat": 2})
)


async def test_completing_work_accepted_here_does_not_read_its_record(
    make_server: Any, monkeypatch: Any
) -> None:
    """An accept tells the process what a completion needs (the queue, the channel), so completing
    work accepted here reads nothing before the live index decides; work accepted elsewhere (here: the
    process forgot it) is read as before, and both end the same."""
    server: TestServer = await make_server(GRACE)
    reads: list[str] = []
    read = interactions.get

    async def counting_get(conn: Any, namespace: str, interaction_id: Any) -> Any:
        reads.append(str(interaction_id))
        return await read(conn, namespace, interaction_id)

    monkeypatch.setattr(interactions, "get", counting_get)
    a01 = await server.agent("a01")
    first = await server.ingest(channel="chat", queue="q", content="one", **visitor("known-1"))
    second = await server.ingest(channel="chat", queue="q", content="two", **visitor("known-2"))
    await a01.accept_next()
    await a01.accept_next()
    server.work.accepted_here.forget(second["id"])  # as if accepted through another process
    reads.clear()
    for it in (first, second):
        ack = await a01.call({"type": "complete", "interaction_id": it["id"], "disposition": None})
        assert ack["type"] == "ack" and ack["result"]["wrapup_until"], ack
    assert reads == [second["id"]], "only the work this process did not accept was read"
    assert len(server.work.accepted_here) == 0, "completed work is forgotten"
    for it in (first, second):
        row = await server.pool.fetchrow(
            "SELECT status, agent_id FROM interactions WHERE id = $1", uuid.UUID(it["id"])
        )
        assert (row["status"], row["agent_id"]) == ("wrapup", "a01")
    await a01.close()


async def test_work_known_here_but_no_longer_held_is_refused_as_before(make_server: Any) -> None:
    """The agent's socket closed past the grace: its work went back to the queue. The process still
    knows the agent accepted it, but the live index refuses the completion and the record says why,
    as it does for work read first: not held by this agent (403), nothing written."""
    server: TestServer = await make_server(GRACE)
    a01 = await server.agent("a01")
    it = await server.ingest(channel="chat", queue="q", content="hello", **visitor("gone"))
    await a01.accept_next()
    await a01.close()
    for _ in range(60):
        if (await server.engine.interaction_live(it["id"])).get("st") == "waiting":
            break
        await asyncio.sleep(0.1)
    assert server.work.accepted_here.get("a01", it["id"]) is not None, "the process still knows it"
    for _ in range(50):  # the record follows the live index
        status = await server.pool.fetchval(
            "SELECT status FROM interactions WHERE id = $1", uuid.UUID(it["id"])
        )
        if status == "queued":
            break
        await asyncio.sleep(0.05)
    back = await server.agent("a01", available=False)
    answer = await back.call({"type": "complete", "interaction_id": it["id"]})
    assert answer["type"] == "error" and answer["code"] == "forbidden", answer
    row = await server.pool.fetchrow(
        "SELECT status, agent_id FROM interactions WHERE id = $1", uuid.UUID(it["id"])
    )
    assert (row["status"], row["agent_id"]) == ("queued", None), "nothing written"
    again = await back.call({"type": "complete", "interaction_id": it["id"]})
    assert again["type"] == "error" and again["code"] == "forbidden", "read from the record now"
    await back.close()


def visitor(value: str) -> dict[str, Any]:
    return {"from": {"kind": "chat_visitor", "value": value}}
