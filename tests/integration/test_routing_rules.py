"""Routing a contact center can run on, through the real server and sockets: a missed offer makes the
agent not ready (and one click brings the work back), a reject cools down and ends by itself, a queue
widens by the clock, the customer's last agent is preferred only while present, an avoided agent never
gets the work, and every decision is replayed from PostgreSQL by ``GET /v1/interactions/{id}/routing``."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from tests.support.configs import routing
from tests.support.servers import TestServer

# Offer timeouts: 30 s where a test answers an offer (accept, reject), so that answer never races the
# timer however slow the machine is; 0.6 s where a test lets an offer time out, and there it answers
# nothing (the journey test lengthens "wide" once its miss is recorded, see there).
EVENTUALLY = 10.0  # s: how long a test waits for what must come "at once"
RULES = (
    routing()
    .queue(
        "q",
        skills={"s": 1},
        channels=["chat"],
        offer_timeout_seconds=30,
        wrapup_seconds=0,
        reject_cooldown_seconds=1.0,
    )
    .queue(
        "miss",
        skills={"s": 1},
        channels=["chat"],
        offer_timeout_seconds=0.6,
        wrapup_seconds=0,
        # were a miss to exclude the agent as a reject does, it would be for 30 s: far longer than any
        # wait below, so a leftover exclusion cannot go unnoticed
        reject_cooldown_seconds=30,
    )
    .queue(
        "wide",
        skills={"s": 8},
        channels=["chat"],
        offer_timeout_seconds=0.6,
        wrapup_seconds=0,
        reject_cooldown_seconds=30,
        steps=[{"after_seconds": 2, "skills": {"s": 5}}],
    )
    .queue(
        "follow",
        skills={"s": 1},
        channels=["chat"],
        wrapup_seconds=0,
        offer_timeout_seconds=10,
        last_agent_seconds=30,
    )
    .queue("after", skills={"s": 1}, channels=["chat"], wrapup_seconds=0)
    .agent("x", name="X", skills={"s": 9}, capacity={"chat": 1})
    .agent("y", name="Y", skills={"s": 5}, capacity={"chat": 1})
    .agent("z", name="Z", skills={"s": 5}, capacity={"chat": 1})
)


def chat(queue: str, visitor: str, **extra: Any) -> dict[str, Any]:
    return {"channel": "chat", "queue": queue, "from": {"kind": "chat_visitor", "value": visitor}, **extra}


async def decisions(server: TestServer, iid: str, until: str | None = None) -> list[dict[str, Any]]:
    """The interaction's routing decisions over HTTP (the log is written from the event stream, so wait
    for the kind expected last)."""
    deadline = time.monotonic() + 10
    while True:
        status, body = await server.request("GET", f"/v1/interactions/{iid}/routing", role="supervisor")
        assert status == 200, body
        found: list[dict[str, Any]] = body["decisions"]
        if until is None or any(d["kind"] == until for d in found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_a_miss_makes_the_agent_away_and_available_brings_it_back_at_once(make_server: Any) -> None:
    server: TestServer = await make_server(RULES)
    x = await server.agent("x")
    it = await server.ingest(**chat("miss", "v-miss"))
    first = await x.next("offer")
    assert first["interaction"]["id"] == it["id"]
    assert first["why"]["strategy"] == "longest_idle" and first["why"]["step"]["index"] == 0
    revoked = await x.next("offer_revoked", timeout=5, offer_id=first["offer_id"])
    assert revoked["reason"] == "timeout"
    state = await x.next("state", timeout=5, reason="missed")
    assert (state["state"], state["reason"]) == ("away", "missed")
    assert (await server.engine.agent_live("x"))["state"] == "away"
    # no exclusion was left behind, neither in the live index nor in the record (a reject leaves one)
    assert await server.redis.zscore(server.engine.keys.exclusions(it["id"]), "x") is None
    excluded = await server.pool.fetchval(
        "SELECT count(*) FROM offer_exclusions WHERE interaction_id = $1 AND agent_id = 'x'",
        uuid.UUID(it["id"]),
    )
    assert excluded == 0
    # one click: the same interaction comes back at once. A leftover exclusion would hold it back for
    # the queue's 30 s cooldown; 5 s leaves a slow machine room and still tells the two apart
    started = time.monotonic()
    await x.set_state("available")
    again = await x.next("offer", timeout=EVENTUALLY)
    assert again["interaction"]["id"] == it["id"] and again["offer_id"] != first["offer_id"]
    assert time.monotonic() - started < 5
    log = await decisions(server, it["id"], until="missed")
    assert [d["kind"] for d in log][:2] == ["offered", "missed"]
    assert log[1]["agent_id"] == "x"
    # the miss is recorded once (the offer made again times out too, in 0.6 s: it is not counted here)
    count = await server.pool.fetchval(
        "SELECT count(*) FROM routing_decisions WHERE kind = 'missed' AND agent_id = 'x'"
        " AND detail->>'offer_id' = $1",
        first["offer_id"],
    )
    assert count == 1
    await x.close()


async def test_a_reject_is_offered_again_after_the_cooldown(make_server: Any) -> None:
    server: TestServer = await make_server(RULES)
    x = await server.agent("x")
    it = await server.ingest(**chat("q", "v-reject"))
    offer = await x.next("offer")
    rejected_at = time.monotonic()
    ack = await x.call({"type": "reject", "offer_id": offer["offer_id"], "reason": "later"})
    assert ack["type"] == "ack"
    stored = await server.pool.fetchval(
        "SELECT until FROM offer_exclusions WHERE interaction_id = $1 AND agent_id = 'x'", uuid.UUID(it["id"])
    )
    assert stored is not None
    again = await x.next("offer", timeout=6)
    assert again["interaction"]["id"] == it["id"]
    assert time.monotonic() - rejected_at >= 0.9, "offered again before the cooldown ended"
    await x.close()


async def test_a_level_8_queue_widens_to_level_5_after_2_s(make_server: Any) -> None:
    server: TestServer = await make_server(RULES)
    y = await server.agent("y")  # level 5 only
    posted = time.monotonic()
    it = await server.ingest(**chat("wide", "v-wide"))
    offer = await y.next("offer", timeout=10)
    waited = time.monotonic() - posted
    assert offer["interaction"]["id"] == it["id"]
    # not before the step (the server's clock starts after `posted`, so a slow machine only adds);
    # after it, as soon as the 0.05 s timer and the socket allow: 3 s more is room for a stalled
    # machine, while a step that never fires by itself fails next() above
    assert 2.0 <= waited < 5.0, waited
    assert offer["why"]["step"] == {"index": 1, "levels": {"s": 5}}
    await y.close()


async def test_the_last_agent_gets_the_follow_up_and_an_absent_one_holds_nothing(make_server: Any) -> None:
    server: TestServer = await make_server(RULES)
    x = await server.agent("x")
    first = await server.ingest(**chat("follow", "v-last"))
    _, assigned = await x.accept_next()
    assert assigned["interaction"]["id"] == first["id"]
    # x is busy (capacity 1) with the customer's first chat; y is free, z is free but avoided
    y = await server.agent("y")
    z = await server.agent("z")
    follow = await server.ingest(
        **chat("follow", "v-last", external_id="follow-up", join_open=False, avoid_agents=["z"])
    )
    await asyncio.sleep(0.5)
    assert not y.pending("offer") and not z.pending("offer"), "held for the last agent, who is present"
    ack = await x.call({"type": "complete", "interaction_id": first["id"]})
    assert ack["type"] == "ack"
    offer = await x.next("offer", timeout=5)
    assert offer["interaction"]["id"] == follow["id"]
    assert offer["why"]["preference_applied"] is True
    # the next follow-up while x is away: it goes to someone else at once, never to z
    await x.call({"type": "reject", "offer_id": offer["offer_id"]})
    await x.set_state("away")
    # at once: EVENTUALLY is a third of the queue's 30 s last-agent window that would otherwise hold it
    other = await y.next("offer", timeout=EVENTUALLY)
    assert other["interaction"]["id"] == follow["id"]
    await asyncio.sleep(0.3)
    assert not z.pending("offer")
    for client in (x, y, z):
        await client.close()


async def test_the_routing_log_replays_a_miss_a_reject_a_widening_and_a_transfer(make_server: Any) -> None:
    server: TestServer = await make_server(RULES)
    x = await server.agent("x")
    it = await server.ingest(**chat("wide", "v-journey"))
    first = await x.next("offer")
    await x.next("offer_revoked", timeout=5, offer_id=first["offer_id"])  # missed: x is away
    # the miss needed the 0.6 s timeout; the reject and the accept below must not race it, so the
    # queue's offers time out after 30 s from now on (a change of a queue applies to the next offers)
    wide = {
        "skills": {"s": 8},
        "channels": ["chat"],
        "offer_timeout_seconds": 30,
        "wrapup_seconds": 0,
        "reject_cooldown_seconds": 30,
        "steps": [{"after_seconds": 2, "skills": {"s": 5}}],
    }
    status, body = await server.request("PUT", "/v1/queues/wide", wide, role="admin")
    assert status == 200, body
    await x.set_state("available")
    second = await x.next("offer", timeout=5)
    await x.call({"type": "reject", "offer_id": second["offer_id"]})  # x cools down for 30 s
    # a reject leaves the exclusion the miss test looks for (and finds none)
    assert await server.redis.zscore(server.engine.keys.exclusions(it["id"]), "x") is not None
    y = await server.agent("y")
    offer, _ = await y.accept_next(timeout=10)  # the step to level 5 lets y have it
    assert offer["why"]["step"]["index"] == 1
    ack = await y.call({"type": "transfer", "interaction_id": it["id"], "queue": "after"})
    assert ack["type"] == "ack"
    log = await decisions(server, it["id"], until="transferred")
    kinds = [d["kind"] for d in log]
    # The test's own steps come in this order. The widening comes by the clock, 2 s after the arrival:
    # usually between the reject and y's offer, but a slow machine may still be missing or rejecting
    # then. Wherever it falls, it comes once and before y's offer (y only meets the widened levels).
    steps = [k for k in kinds if k != "step_changed"]
    assert steps == ["offered", "missed", "offered", "rejected", "offered", "assigned", "transferred"], kinds
    last_offer = max(n for n, kind in enumerate(kinds) if kind == "offered")
    assert kinds.count("step_changed") == 1 and kinds.index("step_changed") < last_offer, kinds
    by_kind = {d["kind"]: d for d in log}  # the last of each kind
    assert log[0]["detail"]["why"]["strategy"] == "longest_idle"
    assert by_kind["rejected"]["detail"]["excluded_until"] > 0
    assert by_kind["step_changed"]["detail"]["levels"] == {"s": 5}
    assert by_kind["transferred"]["detail"]["queue"] == "after"
    # an agent who does not serve the customer may not read it
    status, _ = await server.request(
        "GET", f"/v1/interactions/{it['id']}/routing", token=await server.token("agent", "z")
    )
    assert status == 403
    await x.close()
    await y.close()


async def test_a_cooldown_survives_a_flush_of_the_live_index_and_still_ends(
    make_server: Any, namespace: str
) -> None:
    config = RULES.queue(
        "cool", skills={"s": 1}, channels=["chat"], reject_cooldown_seconds=3, wrapup_seconds=0
    )
    server: TestServer = await make_server(config)
    x = await server.agent("x")
    it = await server.ingest(**chat("cool", "v-flush"))
    offer = await x.next("offer")
    rejected_at = time.monotonic()
    await x.call({"type": "reject", "offer_id": offer["offer_id"]})
    # the live index is gone (every key of this test's routing domain, in one command, as FLUSHALL is)
    r = server.redis
    p = "{" + namespace + "}"
    doomed = [key async for key in r.scan_iter(match=p + "*", count=1000)]
    await r.unlink(*doomed)
    deadline = time.monotonic() + 15
    while not (await r.exists(f"{p}:built") and await r.hget(f"{p}:a:x", "connected") == "1"):
        assert time.monotonic() < deadline, "the index was not rebuilt"
        await asyncio.sleep(0.05)
    # rebuilt with the cooldown still running: x, available and free, is not offered it before it ends...
    again = await x.next("offer", timeout=10)
    assert time.monotonic() - rejected_at >= 2.9, "the rebuilt index forgot the cooldown"
    # ...and then it is: not a permanent exclusion
    assert again["interaction"]["id"] == it["id"]
    await x.close()


async def test_a_cold_transfer_to_an_agent_who_rejects_or_misses_it_tells_the_sender(
    make_server: Any,
) -> None:
    server: TestServer = await make_server(RULES)
    x = await server.agent("x")
    it = await server.ingest(**chat("q", "v-cold"))
    await x.accept_next()
    y = await server.agent("y")
    ack = await x.call({"type": "transfer", "interaction_id": it["id"], "agent_id": "y", "mode": "cold"})
    assert ack["type"] == "ack", ack
    offer = await y.next("offer")
    moved = offer["interaction"]["id"]
    assert moved != it["id"]
    z = await server.agent("z")
    await asyncio.sleep(0.3)
    assert not z.pending("offer"), "a cold transfer to y is offered to y alone"
    await y.call({"type": "reject", "offer_id": offer["offer_id"]})
    failed = await x.next("transfer_failed", timeout=5)
    assert (failed["interaction_id"], failed["target"], failed["reason"]) == (moved, "y", "rejected")
    taken = await z.next("offer", timeout=5)
    assert taken["interaction"]["id"] == moved  # back in the queue for anyone, at its place
    # the miss path: z takes it and sends it on to y, who lets it time out (in "miss": 0.6 s)
    await z.call({"type": "accept", "offer_id": taken["offer_id"]})
    await z.next("assigned", timeout=5)
    ack = await z.call({"type": "transfer", "interaction_id": moved, "agent_id": "y", "queue": "miss"})
    assert ack["type"] == "ack", ack
    missed_offer = await y.next("offer", timeout=5)
    await y.next("offer_revoked", timeout=5, offer_id=missed_offer["offer_id"])
    failed = await z.next("transfer_failed", timeout=5)
    assert (failed["target"], failed["reason"]) == ("y", "missed")
    log = await decisions(server, missed_offer["interaction"]["id"], until="transfer_failed")
    assert [d["kind"] for d in log][:3] == ["offered", "missed", "transfer_failed"]
    for client in (x, y, z):
        await client.close()


async def test_a_transfer_names_somewhere_and_a_known_agent(make_server: Any) -> None:
    server: TestServer = await make_server(RULES)
    x = await server.agent("x")
    it = await server.ingest(**chat("q", "v-nowhere"))
    await x.accept_next()
    nowhere = await x.call({"type": "transfer", "interaction_id": it["id"]})
    assert nowhere["type"] == "error", nowhere
    nobody = await x.call({"type": "transfer", "interaction_id": it["id"], "agent_id": "nobody"})
    assert nobody["type"] == "error", nobody
    assert await server.engine.agent_work("x") == [it["id"]]  # nothing changed
    await x.close()


async def test_a_warm_transfer_stays_with_the_sender_until_the_target_accepts(make_server: Any) -> None:
    server: TestServer = await make_server(RULES)
    x = await server.agent("x")
    it = await server.ingest(**chat("q", "v-warm"))
    await x.accept_next()
    y = await server.agent("y")
    z = await server.agent("z")
    ack = await x.call(
        {
            "type": "transfer",
            "interaction_id": it["id"],
            "agent_id": "y",
            "mode": "warm",
            "note": "VIP, angry ✓",
        }
    )
    assert ack["type"] == "ack", ack
    offer = await y.next("offer")
    attributes = offer["interaction"]["attributes"]
    assert (attributes["transfer_mode"], attributes["transfer_note"]) == ("warm", "VIP, angry ✓")
    assert await server.engine.agent_work("x") == [it["id"]], "the sender keeps it meanwhile"
    assert not x.pending("interaction_ended")
    await y.call({"type": "accept", "offer_id": offer["offer_id"]})
    ended = await x.next("interaction_ended", timeout=5, interaction_id=it["id"])
    assert ended["reason"] == "transferred"
    assert await server.engine.agent_work("x") == []  # released without wrap-up
    status = await server.pool.fetchval("SELECT status FROM interactions WHERE id = $1", uuid.UUID(it["id"]))
    assert status == "transferred"
    assert not z.pending("offer")
    for client in (x, y, z):
        await client.close()


async def test_a_warm_transfer_rejected_or_missed_stays_with_the_sender(make_server: Any) -> None:
    server: TestServer = await make_server(RULES)
    x = await server.agent("x")
    it = await server.ingest(**chat("q", "v-warm-no"))
    await x.accept_next()
    y = await server.agent("y")
    z = await server.agent("z")
    for path in ("rejected", "missed"):
        # the offer to y is rejected in q (30 s), let time out in "miss" (0.6 s)
        queue = "q" if path == "rejected" else "miss"
        transfer = {"type": "transfer", "interaction_id": it["id"], "agent_id": "y", "mode": "warm"}
        ack = await x.call({**transfer, "queue": queue})
        assert ack["type"] == "ack", ack
        offer = await y.next("offer", timeout=5)
        copy = offer["interaction"]["id"]
        if path == "rejected":
            await y.call({"type": "reject", "offer_id": offer["offer_id"]})
        failed = await x.next("transfer_failed", timeout=5, interaction_id=copy)
        assert (failed["target"], failed["reason"]) == ("y", path)
        assert await server.engine.agent_work("x") == [it["id"]]
        deadline = time.monotonic() + 5
        while (
            await server.pool.fetchval("SELECT status FROM interactions WHERE id = $1", uuid.UUID(copy))
            != "ended"
        ):
            assert time.monotonic() < deadline, "the copy of a warm transfer not taken is closed"
            await asyncio.sleep(0.05)
        if path == "missed":
            assert (await server.engine.agent_live("y"))["reason"] == "missed"
    await asyncio.sleep(0.3)
    assert not z.pending("offer"), "a warm transfer not taken goes to nobody else"
    for client in (x, y, z):
        await client.close()
