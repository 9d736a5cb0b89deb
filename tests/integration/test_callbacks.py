"""Callbacks that keep their place (docs/callbacks.md), on a real server with real sockets: the customer
who asks to be called back and hangs up keeps their rank; the offer says it is a callback with the number;
a call that did not reach the customer waits again at the same rank after the queue's retry time; the
last attempt ends it without counting it as abandoned; not_before holds it back; bad input changes
nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.configs import routing
from tests.support.servers import TestServer

CONFIG = (
    routing()
    .queue(
        "care",
        skills={"s": 1},
        channels=["voice"],
        wrapup_seconds=0,
        callback_retry_seconds=1,
        callback_attempts=2,
    )
    .agent("x", name="X", skills={"s": 5}, capacity={"voice": 1})
)


def call(n: int) -> dict[str, Any]:
    return {"channel": "voice", "queue": "care", "from": {"kind": "phone", "value": f"+1415555010{n}"}}


async def ask_callback(server: TestServer, iid: str, **body: Any) -> tuple[int, Any]:
    return await server.request("POST", f"/v1/interactions/{iid}/callback", body, role="adapter")


async def record(server: TestServer, iid: str) -> dict[str, Any]:
    row = await server.pool.fetchrow(
        "SELECT status, end_reason, assigned_at FROM interactions WHERE id = $1", uuid.UUID(iid)
    )
    return dict(row)


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def test_a_callback_keeps_its_place_through_a_hang_up_and_retries(make_server: Any) -> None:
    server: TestServer = await make_server(CONFIG)
    first = await server.ingest(**call(1))
    second = await server.ingest(**call(2))
    assert (first["position"], second["position"]) == (1, 2)

    status, body = await ask_callback(server, first["id"], number="(415) 555-0199")
    assert status == 200, body
    assert body["number"] == "+14155550199" and body["position"] == 1 and body["attempts"] == 0
    # the caller hangs up: not abandoned, still first in line
    status, ended = await server.request(
        "POST", f"/v1/interactions/{first['id']}/end", {"reason": "call_completed"}, role="adapter"
    )
    assert status == 200 and ended["status"] == "queued", ended
    assert await server.engine.position("care", first["id"]) == 1
    assert (await record(server, first["id"]))["status"] == "queued"

    x = await server.agent("x")
    offer = await x.next("offer")
    assert offer["interaction"]["id"] == first["id"], "the callback kept its place"
    assert offer["callback"] == {"number": "+14155550199", "attempt": 1, "attempts": 2}
    ack = await x.call({"type": "accept", "offer_id": offer["offer_id"]})
    assert ack["type"] == "ack", ack

    ack = await x.call({"type": "callback_result", "interaction_id": first["id"], "outcome": "no_answer"})
    assert ack["type"] == "ack" and ack["result"]["status"] == "retry", ack
    ended_frame = await x.next("interaction_ended", interaction_id=first["id"])
    assert ended_frame["reason"] == "callback_no_answer"
    assert (await record(server, first["id"]))["status"] == "queued"
    # the agent is free again and gets the second caller meanwhile; a third caller arrives
    offer2 = await x.next("offer")
    assert offer2["interaction"]["id"] == second["id"] and offer2["callback"] is None
    third = await server.ingest(**call(3))

    async def released() -> bool:
        return await server.engine.position("care", first["id"]) is not None

    await wait_for(released)
    assert await server.engine.position("care", first["id"]) == 1, "back at its original rank"
    assert await server.engine.position("care", third["id"]) == 2, "the later caller is behind it"

    ack = await x.call({"type": "accept", "offer_id": offer2["offer_id"]})
    assert ack["type"] == "ack", ack
    await x.next("assigned")
    ack = await x.call({"type": "complete", "interaction_id": second["id"]})
    assert ack["type"] == "ack", ack
    offer3 = await x.next("offer")
    assert offer3["interaction"]["id"] == first["id"], "the retry comes before the later caller"
    assert offer3["callback"]["attempt"] == 2
    await x.call({"type": "accept", "offer_id": offer3["offer_id"]})
    ack = await x.call({"type": "callback_result", "interaction_id": first["id"], "outcome": "busy"})
    assert ack["type"] == "ack" and ack["result"]["status"] == "ended", ack
    rec = await record(server, first["id"])
    assert (rec["status"], rec["end_reason"], rec["assigned_at"]) == ("ended", "callback_unreachable", None)
    assert await server.engine.interaction_live(first["id"]) == {}
    offer4 = await x.next("offer")
    assert offer4["interaction"]["id"] == third["id"]

    # never an abandon: not in the KPIs, not in the queue's statistics
    today = datetime.now(UTC).date()
    status, report = await server.request(
        "GET",
        f"/v1/reports/kpis?from={today}&to={today + timedelta(days=1)}&interval=1d&timezone=UTC",
        role="supervisor",
    )
    assert status == 200, report
    assert sum(r["abandoned"] for r in report["rows"]) == 0
    status, queues = await server.request("GET", "/v1/queues", role="supervisor")
    care = next(q for q in queues if q["id"] == "care")
    assert care["stats"]["abandoned_today"] == 0

    # erasing the customer blanks the number the callback called
    status, _ = await server.request("DELETE", f"/v1/customers/{first['customer_id']}", role="admin")
    assert status == 200
    assert (
        await server.pool.fetchval(
            "SELECT number FROM interaction_callbacks WHERE interaction_id = $1", uuid.UUID(first["id"])
        )
        == ""
    )
    await x.close()


async def test_not_before_holds_it_back_keeping_its_place(make_server: Any) -> None:
    server: TestServer = await make_server(CONFIG)
    first = await server.ingest(**call(4))
    # 8 s: everything up to the position check below (a second call, an agent connecting and its offer,
    # a third call, a read) must happen while it is still held back, however slow the machine; the test
    # then waits it out, so it is no longer than that
    later = datetime.now(UTC) + timedelta(seconds=8)
    status, body = await ask_callback(
        server, first["id"], number="+14155550188", not_before=later.isoformat()
    )
    assert status == 200 and body["position"] is None and body["held_until"], body
    second = await server.ingest(**call(5))
    x = await server.agent("x")
    offer = await x.next("offer")
    assert offer["interaction"]["id"] == second["id"], "held back: not offered before not_before"
    assert time.time() < later.timestamp()
    third = await server.ingest(**call(6))
    assert third["position"] == 1, "while it is held back, the one behind it is first"
    status, held = await server.request("GET", f"/v1/interactions/{first['id']}", role="adapter")
    assert status == 200 and held["position"] == 1, "a callback held back still says the place it keeps"
    left = later.timestamp() - time.time()  # measured after the answer: less than when it was computed
    wait = held["estimated_wait_seconds"]
    assert wait is None or wait >= left, f"told {wait} s while it is held back for {left:.1f} s more"

    async def released() -> bool:
        return await server.engine.position("care", first["id"]) is not None

    await wait_for(released, timeout=later.timestamp() - time.time() + 10)
    assert time.time() >= later.timestamp() - 0.05
    assert await server.engine.position("care", first["id"]) == 1, "released at its original rank"
    assert await server.engine.position("care", third["id"]) == 2
    await x.call({"type": "reject", "offer_id": offer["offer_id"]})
    offer = await x.next("offer")
    assert offer["interaction"]["id"] == first["id"] and offer["callback"]["number"] == "+14155550188"
    await x.close()


async def test_bad_input_is_refused_and_changes_nothing(make_server: Any) -> None:
    server: TestServer = await make_server(CONFIG)
    waiting = await server.ingest(**call(7))
    for number in ("12", "not a number", "+1 415 555"):
        status, body = await ask_callback(server, waiting["id"], number=number)
        assert status == 422, (number, body)
    assert await server.pool.fetchval("SELECT count(*) FROM interaction_callbacks") == 0
    status, _ = await ask_callback(server, str(uuid.uuid4()), number="+14155550100")
    assert status == 404

    x = await server.agent("x")
    _, assigned = await x.accept_next()
    status, body = await ask_callback(server, assigned["interaction"]["id"], number="+14155550100")
    assert status == 409, body
    assert await server.pool.fetchval("SELECT count(*) FROM interaction_callbacks") == 0
    live = await server.engine.interaction_live(waiting["id"])
    assert live["st"] == "assigned" and "cb" not in live

    for frame in (
        {"type": "callback_result", "interaction_id": waiting["id"], "outcome": "maybe"},
        {"type": "callback_result", "interaction_id": waiting["id"]},
    ):
        err = await x.call(frame)
        assert err["type"] == "error" and err["code"] == "invalid_frame", err
    err = await x.call({"type": "callback_result", "interaction_id": waiting["id"], "outcome": "connected"})
    assert err["type"] == "error" and err["code"] == "conflict", "not a callback"
    assert (await x.call({"type": "ping"}))["type"] == "ack", "the socket stays open"
    assert (await record(server, waiting["id"]))["status"] == "assigned"
    await x.close()


async def test_a_lost_live_index_is_rebuilt_with_the_callback_held_back_at_its_rank(
    make_server: Any,
) -> None:
    server: TestServer = await make_server(CONFIG)
    first = await server.ingest(**call(8))
    second = await server.ingest(**call(9))
    later = datetime.now(UTC) + timedelta(seconds=60)
    status, _ = await ask_callback(server, first["id"], number="+14155550177", not_before=later.isoformat())
    assert status == 200
    keys = server.engine.keys
    before = await server.engine.interaction_live(first["id"])
    # the live index is gone, as after FLUSHALL or a Redis restart (this domain's keys only, in one command)
    doomed = [key async for key in server.engine.redis.scan_iter(match=keys.prefix + "*", count=1000)]
    await server.engine.redis.unlink(*doomed)

    async def rebuilt() -> bool:
        return bool(await server.engine.redis.exists(keys.built)) and bool(
            await server.engine.interaction_live(first["id"])
        )

    await wait_for(rebuilt)
    after = await server.engine.interaction_live(first["id"])
    assert (after["st"], after["cb"], after["score"]) == ("held", "+14155550177", before["score"])
    assert int(after["held_until"]) == int(before["held_until"])
    assert await server.engine.position("care", second["id"]) == 1
    assert await server.engine.position("care", first["id"]) is None, "still held back"
