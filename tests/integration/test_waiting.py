"""The customer's wait on a real server: business hours and the three closed actions, a holiday, timed
overflow that keeps the original place, max_waiting, and a bot's PATCH while the customer waits."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from router.contracts.waiting import BusinessHours
from router.routing.hours import Hours
from tests.support.configs import routing
from tests.support.servers import TestServer

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

BASE = (
    routing()
    .queue("front", skills={"front": 1}, channels=["chat", "voice"], offer_timeout_seconds=5)
    .queue("backup", skills={"backup": 1}, channels=["chat", "voice"], offer_timeout_seconds=5)
    .queue("billing", skills={"billing": 1}, channels=["chat"], offer_timeout_seconds=5)
    .agent("f", name="F", skills={"front": 5}, capacity={"chat": 3})
    .agent("b", name="B", skills={"backup": 5}, capacity={"chat": 3})
    .agent("m", name="M", skills={"billing": 5}, capacity={"chat": 3})
)


def zone_in_daytime() -> ZoneInfo:
    """A time zone other than UTC where it is between 02:00 and 21:00 now, so windows of today fit."""
    for name in ("Asia/Seoul", "Europe/Berlin", "America/New_York", "Pacific/Auckland", "Asia/Kolkata"):
        zone = ZoneInfo(name)
        if 2 <= datetime.now(zone).hour <= 21:
            return zone
    raise AssertionError("one of five zones is always in daytime")


def closed_all_week(zone: ZoneInfo) -> dict[str, Any]:
    """Hours that are closed now: a one-hour window every day, far from the current local time."""
    window = ["01:00", "02:00"] if datetime.now(zone).hour >= 12 else ["22:00", "23:00"]
    return {"timezone": str(zone), "weekly": {d: [window] for d in DAYS}}


def chat(queue: str, n: int | str, **extra: Any) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": queue,
        "from": {"kind": "chat_visitor", "value": f"visitor-{n}-{uuid.uuid4().hex[:6]}"},
        "content": f"hello {n}",
        "external_id": uuid.uuid4().hex,
        **extra,
    }


async def decisions(server: TestServer, iid: str, until: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        status, body = await server.request("GET", f"/v1/interactions/{iid}/routing", role="supervisor")
        assert status == 200, body
        found: list[dict[str, Any]] = body["decisions"]
        if any(d["kind"] == until for d in found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def record_queue(server: TestServer, iid: str, want: str) -> str:
    """The queue PostgreSQL holds for the interaction, once it says ``want`` (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        got = str(
            await server.pool.fetchval("SELECT queue_id FROM interactions WHERE id = $1", uuid.UUID(iid))
        )
        if got == want or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.1)


async def test_closed_reject_answers_closed_with_opens_at_and_queues_nothing(make_server: Any) -> None:
    zone = zone_in_daytime()
    hours = closed_all_week(zone)
    server: TestServer = await make_server(BASE.queue("front", hours=hours, closed_action="reject"))
    f = await server.agent("f")
    status, answer = await server.request(
        "POST", "/v1/interactions", chat("front", 1, external_id="c1"), role="adapter"
    )
    assert status == 201, answer
    assert answer["status"] == "closed" and answer["position"] is None
    expected = Hours(BusinessHours.model_validate(hours)).opens_at(datetime.now(UTC))
    assert expected is not None and datetime.fromisoformat(answer["opens_at"]) == expected
    assert expected > datetime.now(UTC)
    # nothing queued or offered; the contact and the customer's message are recorded
    assert await server.engine.waiting("front") == 0
    assert not await server.engine.interaction_live(answer["id"])
    await asyncio.sleep(0.5)
    assert f.pending("offer") == []
    row = await server.pool.fetchrow(
        "SELECT status, end_reason FROM interactions WHERE id = $1", uuid.UUID(answer["id"])
    )
    assert (row["status"], row["end_reason"]) == ("closed", "queue_closed")
    body = await server.pool.fetchval(
        "SELECT body FROM messages WHERE interaction_id = $1", uuid.UUID(answer["id"])
    )
    assert body == "hello 1"
    # a retry answers the same, still closed
    status, again = await server.request(
        "POST", "/v1/interactions", chat("front", 1, external_id="c1"), role="adapter"
    )
    assert status == 200 and again["id"] == answer["id"] and again["status"] == "closed"
    # the queue says it is closed, and when it opens and closes next
    status, queue = await server.request("GET", "/v1/queues/front", role="supervisor")
    assert status == 200
    assert queue["open"] is False
    assert datetime.fromisoformat(queue["opens_at"]) == expected
    assert datetime.fromisoformat(queue["closes_at"]) == expected + timedelta(hours=1)
    status, plain = await server.request("GET", "/v1/queues/backup", role="supervisor")
    assert (plain["open"], plain["opens_at"], plain["closes_at"]) == (None, None, None)
    await f.close()


async def test_a_holiday_closes_the_queue_all_day(make_server: Any) -> None:
    zone = zone_in_daytime()
    today = datetime.now(zone).date()
    hours = {
        "timezone": str(zone),
        "weekly": {d: [["00:00", "24:00"]] for d in DAYS},
        "holidays": [today.isoformat()],
    }
    server: TestServer = await make_server(BASE.queue("front", hours=hours, closed_action="reject"))
    answer = await server.ingest(**chat("front", 1))
    assert answer["status"] == "closed"
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    assert datetime.fromisoformat(answer["opens_at"]) == tomorrow
    status, queue = await server.request("GET", "/v1/queues/front", role="supervisor")
    assert status == 200 and queue["open"] is False


async def test_closed_overflow_queues_in_the_closed_queue(make_server: Any) -> None:
    zone = zone_in_daytime()
    config = BASE.queue("front", hours=closed_all_week(zone), closed_action="overflow", closed_queue="backup")
    server: TestServer = await make_server(config)
    b = await server.agent("b")
    answer = await server.ingest(**chat("front", 1))
    assert answer["status"] == "queued" and answer["queue"] == "backup"
    offer = await b.next("offer")
    assert offer["interaction"]["id"] == answer["id"] and offer["interaction"]["queue"] == "backup"
    log = await decisions(server, answer["id"], "overflowed")
    moved = [d for d in log if d["kind"] == "overflowed"]
    assert moved and moved[0]["detail"]["from"] == "front" and moved[0]["detail"]["reason"] == "closed"
    await b.close()


async def test_closed_wait_holds_the_work_until_the_queue_opens(make_server: Any) -> None:
    server: TestServer = await make_server(BASE)
    f = await server.agent("f")
    zone = zone_in_daytime()
    local = datetime.now(zone)
    opening = (local + timedelta(seconds=3)).replace(microsecond=0)
    window = [opening.strftime("%H:%M:%S"), "23:59"]
    hours = {"timezone": str(zone), "weekly": {DAYS[local.weekday()]: [window]}}
    front = {"skills": {"front": 1}, "channels": ["chat"], "offer_timeout_seconds": 5}
    status, put = await server.request(
        "PUT", "/v1/queues/front", {**front, "hours": hours, "closed_action": "wait"}, role="admin"
    )
    assert status == 200, put
    assert put["open"] is False
    answer = await server.ingest(**chat("front", 1))
    assert answer["status"] == "queued" and answer["position"] == 1
    assert answer["opens_at"] is not None
    # closed: an available agent of the queue is not offered it
    await asyncio.sleep(1.0)
    if datetime.now(zone) < opening - timedelta(seconds=0.3):
        assert f.pending("offer") == [], "offered while the queue was closed"
        assert (await server.engine.interaction_live(answer["id"]))["st"] == "waiting"
    # it opens: the waiting work is offered at once, without a new arrival
    offer = await f.next("offer", timeout=10)
    assert offer["interaction"]["id"] == answer["id"]
    assert datetime.now(zone) >= opening - timedelta(seconds=0.2)
    await f.close()


async def wallboard_sees(ws: aiohttp.ClientWebSocketResponse, want: dict[str, int]) -> None:
    """Read the supervisor socket until every queue of ``want`` shows that many waiting."""
    seen: dict[str, int] = {}
    while any(seen.get(q) != n for q, n in want.items()):
        frame = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
        queues = frame.get("queues", []) if frame["type"] == "snapshot" else [frame.get("queue", {})]
        for q in queues:
            if q and q.get("id") in want:
                seen[q["id"]] = q["stats"]["waiting"]


async def test_overflow_after_a_wait_keeps_the_original_place_in_the_target(make_server: Any) -> None:
    config = BASE.queue("front", overflow=[{"after_seconds": 1, "queue": "backup"}])
    server: TestServer = await make_server(config)
    session = aiohttp.ClientSession()
    token = await server.token("supervisor")
    wall = await session.ws_connect(server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={token}")
    older = await server.ingest(**chat("front", "older"))
    await asyncio.sleep(0.3)
    newer = await server.ingest(**chat("backup", "newer"))  # waits in backup already
    # the timer moves the older one to backup, where it ranks by its original arrival: first
    deadline = time.monotonic() + 10
    while await server.engine.position("backup", older["id"]) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await server.engine.position("backup", older["id"]) == 1
    assert await server.engine.position("backup", newer["id"]) == 2
    assert await server.engine.waiting("front") == 0
    assert await record_queue(server, older["id"], "backup") == "backup"
    # the wallboard is told of both queues
    await wallboard_sees(wall, {"front": 0, "backup": 2})
    await wall.close()
    await session.close()
    b = await server.agent("b")
    first = await b.next("offer")
    assert first["interaction"]["id"] == older["id"], "the overflowed interaction kept its place"
    assert first["why"]["overflow"] == "overflowed from front after 1 s"
    assert first["interaction"]["attributes"] == {}
    second = await b.next("offer")
    assert second["interaction"]["id"] == newer["id"]
    log = await decisions(server, older["id"], "overflowed")
    moved = [d for d in log if d["kind"] == "overflowed"]
    assert moved[0]["detail"]["from"] == "front" and moved[0]["detail"]["queue"] == "backup"
    assert moved[0]["detail"]["why"] == "overflowed from front after 1 s"
    await b.close()


async def test_max_waiting_refuses_with_queue_full_or_overflows(make_server: Any) -> None:
    config = BASE.queue("front", max_waiting=1).queue(
        "billing", max_waiting=1, overflow_queue="backup", channels=["chat"]
    )
    server: TestServer = await make_server(config)
    await server.ingest(**chat("front", 1))
    status, problem = await server.request("POST", "/v1/interactions", chat("front", 2), role="adapter")
    assert status == 503 and problem["type"].endswith("/queue_full"), problem
    assert await server.engine.waiting("front") == 1
    await server.ingest(**chat("billing", 1))
    spilled = await server.ingest(**chat("billing", 2))
    assert spilled["queue"] == "backup" and spilled["status"] == "queued"
    log = await decisions(server, spilled["id"], "overflowed")
    assert [d["detail"]["reason"] for d in log if d["kind"] == "overflowed"] == ["full"]


async def test_patch_while_waiting_reaches_the_agent_with_the_attributes(make_server: Any) -> None:
    server: TestServer = await make_server(BASE)
    older = await server.ingest(**chat("front", "bot"))
    await asyncio.sleep(0.2)
    later = await server.ingest(**chat("billing", "later"))
    path = f"/v1/interactions/{older['id']}"
    status, out = await server.request(
        "PATCH",
        path,
        {"attributes": {"intent": "billing", "account": "12345"}, "queue": "billing"},
        role="adapter",
    )
    assert status == 200, out
    assert out["queue"] == "billing" and out["attributes"]["account"] == "12345"
    assert out["position"] == 1, "moved at its place: ahead of the later arrival"
    m = await server.agent("m")
    offer = await m.next("offer")
    assert offer["interaction"]["id"] == older["id"]
    assert offer["interaction"]["attributes"] == {"intent": "billing", "account": "12345"}
    assert offer["why"]["overflow"] == "moved from front"
    await m.call({"type": "accept", "offer_id": offer["offer_id"]})
    # once with an agent, it is not waiting any more
    status, problem = await server.request("PATCH", path, {"attributes": {"x": 1}}, role="adapter")
    assert status == 409 and problem["type"].endswith("/not_waiting")
    # bad input: nothing to change, an unknown field, a queue that does not take the channel
    status, _ = await server.request("PATCH", f"/v1/interactions/{later['id']}", {}, role="adapter")
    assert status == 422
    status, _ = await server.request("PATCH", f"/v1/interactions/{later['id']}", {"color": 1}, role="adapter")
    assert status == 422
    status, _ = await server.request(
        "PATCH", f"/v1/interactions/{later['id']}", {"queue": "nope"}, role="adapter"
    )
    assert status == 422
    status, _ = await server.request(
        "PATCH", f"/v1/interactions/{later['id']}", {"queue": "billing"}, role="supervisor"
    )
    assert status == 403
    await m.close()
