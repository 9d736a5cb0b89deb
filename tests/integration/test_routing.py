"""Routing behaviour through the public API and sockets: offer timeout, reject, disconnect and
reconnect grace, wrap-up, capacity and voice blocking, priority and position."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.configs import routing
from tests.support.servers import TestServer

# Offers time out after 30 s: a test that accepts, rejects or ends an offered interaction must never race
# the offer timer, however slow the machine; and a 30 s timer cannot pass for the disconnect that
# revokes "at once" within the 10 s a test waits for it (EVENTUALLY). Only the offer-timeout test
# below (MISSES) uses a short timeout, and it never answers an offer.
WRAPUP = 0.8
FAST = (
    routing(reconnect_grace_seconds=1)
    .queue(
        "q",
        skills={"s": 1},
        channels=["chat", "voice", "email"],
        offer_timeout_seconds=30,
        wrapup_seconds=WRAPUP,
    )
    .queue("vip", skills={"s": 1}, channels=["chat"], priority=50, offer_timeout_seconds=30, wrapup_seconds=0)
    .agent("x", name="X", skills={"s": 5}, capacity={"chat": 2, "voice": 1, "email": 1})
    .agent("y", name="Y", skills={"s": 5}, capacity={"chat": 2, "voice": 1, "email": 1})
)
# the offer-timeout test: nothing in it has to reach the server within the 0.6 s
MISSES = FAST.queue("q", offer_timeout_seconds=0.6)
EVENTUALLY = 10.0  # s: how long a test waits for what must happen "at once" or "soon"


def chat(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": "q",
        "from": {"kind": "chat_visitor", "value": f"visitor-{n}"},
        "content": f"message {n}",
        **extra,
    }


async def eventually(probe: Callable[[], Awaitable[bool]]) -> bool:
    """Whether ``probe`` comes true within EVENTUALLY seconds (polled)."""
    deadline = time.monotonic() + EVENTUALLY
    while not await probe():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def history(server: TestServer, iid: str) -> list[tuple[str, str | None]]:
    rows = await server.pool.fetch(
        "SELECT status, agent_id FROM interaction_history WHERE interaction_id = $1 ORDER BY id",
        uuid.UUID(iid),
    )
    return [(r["status"], r["agent_id"]) for r in rows]


async def test_offer_timeout_requeues_at_original_place_and_makes_the_agent_not_ready(
    make_server: Any,
) -> None:
    server: TestServer = await make_server(MISSES)
    x = await server.agent("x")
    first = await server.ingest(**chat(1))
    offer = await x.next("offer")
    assert offer["interaction"]["id"] == first["id"]
    second = await server.ingest(**chat(2))  # x has a second chat slot: offered too
    revoked = await x.next("offer_revoked", timeout=5, offer_id=offer["offer_id"])
    assert revoked["reason"] == "timeout"
    # back in the queue ahead of the later arrival; x missed it, so x is away (reason missed) and is
    # offered nothing until it is available again
    live = await server.engine.interaction_live(first["id"])
    assert live["st"] == "waiting"
    assert await server.engine.position("q", first["id"]) == 1
    y = await server.agent("y")
    y_offer = await y.next("offer")
    assert y_offer["interaction"]["id"] == first["id"], "the requeued interaction kept its original place"
    # x is away: it must never be offered it again (a wrong offer would go out with y's, so 0.3 s lets
    # it arrive; a slow machine can only hide it here, never fail the test wrongly)
    await asyncio.sleep(0.3)
    assert all(f["interaction"]["id"] != first["id"] for f in x.pending("offer"))
    assert (await server.engine.agent_live("x"))["reason"] == "missed"
    assert ("offer_timeout", "x") in await history(server, first["id"])
    assert second["id"]
    await x.close()
    await y.close()


async def test_reject_requeues_and_offers_the_next_agent(make_server: Any) -> None:
    server: TestServer = await make_server(FAST)
    x = await server.agent("x")
    it = await server.ingest(**chat(1))
    offer = await x.next("offer")
    ack = await x.call({"type": "reject", "offer_id": offer["offer_id"], "reason": "not my area"})
    assert ack["type"] == "ack"
    y = await server.agent("y")
    y_offer = await y.next("offer")
    assert y_offer["interaction"]["id"] == it["id"]
    # accepting a rejected offer is refused with a clear error, the socket stays open
    err = await x.call({"type": "accept", "offer_id": offer["offer_id"]})
    assert err["type"] == "error" and err["code"] == "offer_gone"
    assert (await x.call({"type": "ping"}))["type"] == "ack"
    await x.close()
    await y.close()


async def test_disconnect_revokes_offers_at_once_and_keeps_assignments_for_the_grace_period(
    make_server: Any,
) -> None:
    server: TestServer = await make_server(FAST.with_routing(reconnect_grace_seconds=30))
    x = await server.agent("x")
    a = await server.ingest(**chat(1))
    _, assigned = await x.accept_next()
    b = await server.ingest(**chat(2))
    pending_offer = await x.next("offer")
    assert pending_offer["interaction"]["id"] == b["id"]
    await x.close()

    async def b_waiting() -> bool:
        return (await server.engine.interaction_live(b["id"])).get("st") == "waiting"

    # the open offer is back in the queue at once: within EVENTUALLY, well before its 30 s timer could
    # have revoked it
    assert await eventually(b_waiting)
    assert (await server.engine.interaction_live(a["id"]))["st"] == "assigned"
    # reconnecting resumes the held work from hello
    x2 = await server.agent("x", available=False)
    assert [w["interaction"]["id"] for w in x2.hello["work"]] == [a["id"]]
    assert x2.hello["state"] == "available", "a reconnect keeps the agent's state"
    assert assigned["interaction"]["id"] == a["id"]
    await x2.close()


async def test_agent_not_back_within_grace_loses_assignments_to_the_queue(make_server: Any) -> None:
    server: TestServer = await make_server(FAST)
    x = await server.agent("x")
    a = await server.ingest(**chat(1))
    await x.accept_next()
    await x.close()

    async def requeued() -> bool:
        return (await server.engine.interaction_live(a["id"])).get("st") == "waiting"

    assert await eventually(requeued)  # the 1 s grace, then the timer

    async def recorded() -> bool:  # the record follows the live index
        row = await server.pool.fetchrow(
            "SELECT status, agent_id FROM interactions WHERE id = $1", uuid.UUID(a["id"])
        )
        return (row["status"], row["agent_id"]) == ("queued", None)

    assert await eventually(recorded)
    y = await server.agent("y")
    assert (await y.next("offer"))["interaction"]["id"] == a["id"]
    await y.close()


async def test_wrapup_holds_capacity_until_it_ends(make_server: Any) -> None:
    server: TestServer = await make_server(FAST)
    x = await server.agent("x")
    call = await server.ingest(
        channel="voice", queue="q", **{"from": {"kind": "phone", "value": "+15550001"}}
    )
    await x.accept_next()
    waiting = await server.ingest(
        channel="voice", queue="q", **{"from": {"kind": "phone", "value": "+15550002"}}
    )
    sent = time.monotonic()
    ack = await x.call({"type": "complete", "interaction_id": call["id"], "disposition": "resolved"})
    assert ack["type"] == "ack" and ack["result"]["wrapup_until"] is not None
    await x.next("wrapup_ended", timeout=EVENTUALLY, interaction_id=call["id"])
    offer = await x.next("offer", timeout=EVENTUALLY)
    assert offer["interaction"]["id"] == waiting["id"]
    # during wrap-up the voice slot stays taken: the next call is offered no sooner than WRAPUP after
    # the complete was sent (the server starts the wrap-up later still, so a slow machine can only
    # make this later; 0.05 s covers the millisecond clocks and the timer's rounding)
    assert time.monotonic() - sent >= WRAPUP - 0.05

    async def recorded() -> bool:  # the record follows the live index
        row = await server.pool.fetchrow(
            "SELECT status, disposition FROM interactions WHERE id = $1", uuid.UUID(call["id"])
        )
        return (row["status"], row["disposition"]) == ("completed", "resolved")

    assert await eventually(recorded)
    await x.close()


async def test_end_wrapup_frees_capacity_early(make_server: Any) -> None:
    server: TestServer = await make_server(FAST.queue("q", wrapup_seconds=600))
    x = await server.agent("x")
    call = await server.ingest(
        channel="voice", queue="q", **{"from": {"kind": "phone", "value": "+15550001"}}
    )
    await x.accept_next()
    nxt = await server.ingest(channel="voice", queue="q", **{"from": {"kind": "phone", "value": "+15550002"}})
    assert (await x.call({"type": "complete", "interaction_id": call["id"]}))["type"] == "ack"
    err = await x.call({"type": "complete", "interaction_id": call["id"]})
    assert err["type"] == "error"
    assert (await x.call({"type": "end_wrapup", "interaction_id": call["id"]}))["type"] == "ack"
    assert (await x.next("offer"))["interaction"]["id"] == nxt["id"]
    await x.close()


async def test_voice_blocks_other_channels_and_capacity_is_per_channel(make_server: Any) -> None:
    server: TestServer = await make_server(FAST)
    x = await server.agent("x")
    await server.ingest(channel="voice", queue="q", **{"from": {"kind": "phone", "value": "+15550001"}})
    await x.accept_next()
    c = await server.ingest(**chat(1))
    # the ingest matches before it answers, so a wrong offer is already made (st "offered") and its
    # frame on its way: 0.3 s lets it arrive; the call never ends, so no wait is too long here
    assert (await server.engine.interaction_live(c["id"]))["st"] == "waiting"
    await asyncio.sleep(0.3)
    assert x.pending("offer") == [], "a chat was offered during a call"
    assert (await server.engine.interaction_live(c["id"]))["st"] == "waiting"
    await x.close()


async def test_priority_then_arrival_and_position_and_wait_estimate(make_server: Any) -> None:
    server: TestServer = await make_server(FAST)
    first = await server.ingest(**chat(1))
    second = await server.ingest(**chat(2))
    urgent = await server.ingest(**chat(3), priority=90)
    assert (first["position"], second["position"]) == (1, 2)
    assert urgent["position"] == 1
    assert first["estimated_wait_seconds"] is None, "no agent staffed: no honest estimate"
    x = await server.agent("x", available=False)
    status, body = await server.request("GET", f"/v1/interactions/{second['id']}", role="adapter")
    # connected but not available: nobody can take it now, so still no estimate (the issue's "away
    # agents count as staffed" case; tests/integration/test_wait_estimates.py has the rest)
    assert status == 200 and body["position"] == 3 and body["estimated_wait_seconds"] is None
    await x.set_state("available")
    o1 = await x.next("offer")
    o2 = await x.next("offer")
    assert [o1["interaction"]["id"], o2["interaction"]["id"]] == [urgent["id"], first["id"]]
    await x.close()


async def test_customer_leaving_while_waiting_is_abandoned_and_while_offered_revokes(
    make_server: Any,
) -> None:
    server: TestServer = await make_server(FAST)
    waiting = await server.ingest(**chat(1))
    status, body = await server.request(
        "POST", f"/v1/interactions/{waiting['id']}/end", {"reason": "hung_up"}, role="adapter"
    )
    assert status == 200 and body["status"] == "abandoned"
    x = await server.agent("x")
    offered = await server.ingest(**chat(2))
    offer = await x.next("offer")
    status, _ = await server.request("POST", f"/v1/interactions/{offered['id']}/end", role="adapter")
    assert status == 200
    revoked = await x.next("offer_revoked", offer_id=offer["offer_id"])
    assert revoked["reason"] == "customer_left"
    assert await server.engine.interaction_live(offered["id"]) == {}
    # after an assignment, the agent is told and completes as usual
    held = await server.ingest(**chat(3))
    await x.accept_next()
    await server.request("POST", f"/v1/interactions/{held['id']}/end", role="adapter")
    ended = await x.next("interaction_ended", interaction_id=held["id"])
    assert ended["reason"] == "customer_left"
    assert (await x.call({"type": "complete", "interaction_id": held["id"]}))["type"] == "ack"
    await x.close()


async def test_customer_messages_reach_the_agent_and_follow_a_transfer(make_server: Any) -> None:
    server: TestServer = await make_server(FAST)
    x = await server.agent("x")
    y = await server.agent("y", available=False)
    it = await server.ingest(**chat(1))
    await x.accept_next()
    again = await server.ingest(**{**chat(1, external_id="second-line"), "content": "are you there?"})
    assert again["id"] == it["id"] and again["created"] is False
    msg = await x.next("message", interaction_id=it["id"])
    assert msg["message"]["body"] == "are you there?"
    ack = await x.call({"type": "transfer", "interaction_id": it["id"], "queue": "vip", "note": "VIP"})
    new_id = ack["result"]["interaction_id"]
    await y.set_state("available")
    offer = await y.accept_next()
    assert offer[0]["interaction"]["id"] == new_id
    status, _ = await server.request(
        "POST", f"/v1/interactions/{it['id']}/messages", {"body": "hello again"}, role="adapter"
    )
    assert status == 201
    followed = await y.next("message", interaction_id=new_id)
    assert followed["message"]["body"] == "hello again"
    # the agent who transferred it, though eligible for vip and free, was never offered it back
    assert all(o["interaction"]["id"] != new_id for o in x.pending("offer"))
    assert all(not (f["type"] == "offer_revoked" and f["interaction_id"] == new_id) for f in x.frames)
    await x.close()
    await y.close()
