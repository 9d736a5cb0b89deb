"""KPIs from a scripted day of known contacts: the report gives exactly the figures computed by hand,
per queue, channel and agent, in a time zone eight hours behind UTC, across local midnight; CSV; bad
parameters; the time zone of queue statistics' "today".

The contacts are written through the store's own functions, each lifecycle in one transaction (so the
server's repair rounds never see a half-made one), then given known times in the test's database."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from context_store import customers, interactions, presence, surveys
from router.routing.stats import start_of_day
from tests.conftest import MakeServer
from tests.support.configs import routing
from tests.support.servers import TestServer

LA = ZoneInfo("America/Los_Angeles")  # UTC-8 in January

CONFIG = (
    routing()
    .with_server(timezone="America/Los_Angeles")
    .queue("billing", channels=["voice", "chat"], service_level_seconds=20, wrapup_seconds=30)
    .queue("chat", channels=["chat"], service_level_seconds=60, wrapup_seconds=60)
    .agent("alice", name="Alice", skills={})
    .agent("bob", name="Bob", skills={})
)


def at(day: int, hms: str) -> datetime:
    """A local time in Los Angeles, January ``day`` 2026."""
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(2026, 1, day, h, m, s, tzinfo=LA)


@dataclass
class Contact:
    customer: str  # a phone number: one customer each
    channel: str
    queue: str
    arrived: datetime
    agent: str | None = None
    assigned: datetime | None = None
    ended: datetime | None = None  # the end of talk (wrap-up starts), or the abandon
    closed: datetime | None = None  # the end of wrap-up, the transfer
    status: str = "completed"
    end_reason: str | None = None
    survey: tuple[str, int] | None = None
    parent: str | None = None  # the name of the contact this one continues (a transfer)


# The day, in local time (hand-computed figures in the tests below):
SCRIPT: dict[str, Contact] = {
    # January 15: three calls to billing late in the evening (07:00-07:51 UTC on January 16)
    "c1": Contact("+14155550001", "voice", "billing", at(15, "23:00:00"), "alice",
                  at(15, "23:00:10"), at(15, "23:05:10"), at(15, "23:05:40"), survey=("ces", 2)),
    "c2": Contact("+14155550002", "voice", "billing", at(15, "23:30:00"), "bob",
                  at(15, "23:30:30"), at(15, "23:40:30"), at(15, "23:41:00"), survey=("nps", 3)),
    "c3": Contact("+14155550003", "voice", "billing", at(15, "23:50:00"), None, None,
                  at(15, "23:51:00"), at(15, "23:51:00"), status="abandoned"),
    # January 16: a chat transferred by alice to billing, where bob resolves it
    "c4": Contact("+14155550004", "chat", "chat", at(16, "00:10:00"), "alice",
                  at(16, "00:10:20"), at(16, "00:15:20"), at(16, "00:15:20"), status="transferred"),
    "c4b": Contact("+14155550004", "chat", "billing", at(16, "00:15:20"), "bob",
                   at(16, "00:15:25"), at(16, "00:25:25"), at(16, "00:26:25"), survey=("csat", 5),
                   parent="c4"),
    # the customer of c1 again, on another channel: c1 was not resolved at first contact
    "c5": Contact("+14155550001", "chat", "chat", at(16, "01:00:00"), "alice",
                  at(16, "01:00:40"), at(16, "01:10:40"), at(16, "01:11:40"), survey=("csat", 2)),
    # a caller who chose a callback while waiting: never an abandon
    "c6": Contact("+14155550006", "voice", "billing", at(16, "01:30:00"), None, None,
                  at(16, "01:31:00"), at(16, "01:31:00"), status="abandoned", end_reason="callback"),
    # after the report's range, within 72 hours of c2's end: c2 was not resolved at first contact either
    "c7": Contact("+14155550002", "sms", "billing", at(17, "09:00:00"), None, None,
                  at(17, "09:02:00"), at(17, "09:02:00"), status="abandoned"),
}  # fmt: skip


async def write_day(pool: asyncpg.Pool, ns: str) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    for name, c in SCRIPT.items():
        iid = uuid.uuid4()
        async with pool.acquire() as conn, conn.transaction():
            customer = await customers.resolve_customer(conn, [("phone", c.customer)], phone=c.customer)
            # a transfer keeps the original arrival (its virtual enqueue time), as the router's does
            parent = await interactions.get(conn, ns, ids[c.parent]) if c.parent else None
            fields: dict[str, Any] = dict(
                namespace=ns, interaction_id=iid, customer_id=customer, channel=c.channel, external_id=name,
                from_kind="phone", from_value=c.customer, queue_id=c.queue, priority=0, attributes={},
                subject=None, venq_ms=parent.venq_ms if parent else int(c.arrived.timestamp() * 1000),
            )  # fmt: skip
            if parent is not None:
                await interactions.insert(
                    conn, conversation_id=parent.conversation_id, parent_id=parent.id, **fields
                )
            else:
                await interactions.create(conn, conversation_id=uuid.uuid4(), new_conversation=True, **fields)
            if c.agent:
                assert await interactions.assign(conn, ns, iid, c.agent)
            if c.status == "abandoned":
                assert await interactions.customer_ended(conn, ns, iid, c.end_reason or "hangup")
            elif c.status == "transferred":
                assert await interactions.close(conn, ns, iid, "transferred", "transferred to billing")
            else:
                assert await interactions.wrapup(conn, ns, iid, "resolved", None, None)
                assert await interactions.close(conn, ns, iid, "completed")
            if c.survey:
                assert await surveys.answer(conn, iid, customer, c.survey[0], c.survey[1], None)
            await conn.execute(
                "UPDATE interactions SET created_at = $2, assigned_at = $3, ended_at = $4, closed_at = $5"
                " WHERE id = $1",
                iid, c.arrived, c.assigned, c.ended, c.closed,
            )  # fmt: skip
        ids[name] = iid
    return ids


# The agents' presence history (occupancy's denominator): alice is available from 22:00, goes on a break
# at 23:03 in the middle of c1 (still handling it until 23:05:40), is available again at midnight and signs
# out at 01:30; bob is available from 23:20 until he signs out at 00:40.
PRESENCE: list[tuple[str, str, str, datetime]] = [
    ("alice", "available", "", at(15, "22:00:00")),
    ("alice", "away", "break", at(15, "23:03:00")),
    ("alice", "available", "", at(16, "00:00:00")),
    ("alice", "offline", "", at(16, "01:30:00")),
    ("bob", "available", "", at(15, "23:20:00")),
    ("bob", "offline", "", at(16, "00:40:00")),
]


async def write_presence(pool: asyncpg.Pool, ns: str) -> None:
    for n, (agent, state, reason, when) in enumerate(PRESENCE):
        await presence.record_change(pool, ns, agent, state, reason, when, f"{n + 1}-0")


@pytest.fixture
async def day(make_server: MakeServer) -> TestServer:
    server = await make_server(CONFIG)
    await write_day(server.pool, server.settings.namespace)
    await write_presence(server.pool, server.settings.namespace)
    return server


async def kpis(server: TestServer, **params: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, body = await server.request("GET", f"/v1/reports/kpis?{query}", role="supervisor")
    assert status == 200, body
    return list(body["rows"])


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["interval_start"][:10], r["key"]): r for r in rows}


KPI_KEYS = (
    "offered", "answered", "abandoned", "answered_in_sl", "service_level", "asa_seconds", "aht_seconds",
    "abandonment_rate", "transfer_rate", "fcr_rate", "ttr_seconds", "occupancy", "csat", "nps", "ces",
    "surveys",
)  # fmt: skip


def kpi(**values: Any) -> dict[str, Any]:
    assert set(values) == set(KPI_KEYS), set(KPI_KEYS) ^ set(values)
    return values


JAN15 = kpi(
    offered=3, answered=2, abandoned=1, answered_in_sl=1, service_level=0.3333, asa_seconds=20.0,
    aht_seconds=480.0, abandonment_rate=0.3333, transfer_rate=0.0, fcr_rate=0.0, ttr_seconds=470.0,
    occupancy=None, csat=None, nps=-100.0, ces=2.0, surveys=2,
)  # fmt: skip
JAN16_ALL = kpi(
    offered=4, answered=3, abandoned=0, answered_in_sl=3, service_level=1.0, asa_seconds=21.667,
    aht_seconds=540.0, abandonment_rate=0.0, transfer_rate=0.3333, fcr_rate=1.0, ttr_seconds=782.5,
    occupancy=None, csat=0.5, nps=None, ces=None, surveys=2,
)  # fmt: skip


def only_kpis(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in KPI_KEYS}


async def test_a_day_in_los_angeles_per_day_gives_the_hand_computed_kpis(day: TestServer) -> None:
    rows = await kpis(day, **{"from": "2026-01-15", "to": "2026-01-17"}, interval="1d")
    got = by_key(rows)
    assert set(got) == {("2026-01-15", "all"), ("2026-01-16", "all")}
    # the intervals are local days: midnight in Los Angeles, written with its offset
    assert got[("2026-01-15", "all")]["interval_start"] == "2026-01-15T00:00:00-08:00"
    assert got[("2026-01-15", "all")]["interval_end"] == "2026-01-16T00:00:00-08:00"
    assert only_kpis(got[("2026-01-15", "all")]) == JAN15
    assert only_kpis(got[("2026-01-16", "all")]) == JAN16_ALL


async def test_the_same_day_by_utc_days_puts_the_late_calls_on_the_next_day(day: TestServer) -> None:
    rows = await kpis(day, **{"from": "2026-01-15", "to": "2026-01-17"}, interval="1d", tz="UTC")
    # 23:00 in Los Angeles is 07:00 on the next UTC day: every contact of the range is on January 16
    assert [(r["interval_start"], r["offered"]) for r in rows] == [("2026-01-16T00:00:00Z", 7)]


async def test_per_queue(day: TestServer) -> None:
    got = by_key(
        await kpis(day, **{"from": "2026-01-15", "to": "2026-01-17"}, interval="1d", group_by="queue")
    )
    assert set(got) == {("2026-01-15", "billing"), ("2026-01-16", "billing"), ("2026-01-16", "chat")}
    assert only_kpis(got[("2026-01-15", "billing")]) == JAN15
    assert only_kpis(got[("2026-01-16", "billing")]) == kpi(
        offered=2, answered=1, abandoned=0, answered_in_sl=1, service_level=1.0, asa_seconds=5.0,
        aht_seconds=660.0, abandonment_rate=0.0, transfer_rate=0.0, fcr_rate=1.0, ttr_seconds=925.0,
        occupancy=None, csat=1.0, nps=None, ces=None, surveys=1,
    )  # fmt: skip
    assert only_kpis(got[("2026-01-16", "chat")]) == kpi(
        offered=2, answered=2, abandoned=0, answered_in_sl=2, service_level=1.0, asa_seconds=30.0,
        aht_seconds=480.0, abandonment_rate=0.0, transfer_rate=0.5, fcr_rate=1.0, ttr_seconds=640.0,
        occupancy=None, csat=0.0, nps=None, ces=None, surveys=1,
    )  # fmt: skip


async def test_per_channel(day: TestServer) -> None:
    got = by_key(
        await kpis(day, **{"from": "2026-01-15", "to": "2026-01-17"}, interval="1d", group_by="channel")
    )
    assert set(got) == {("2026-01-15", "voice"), ("2026-01-16", "chat"), ("2026-01-16", "voice")}
    assert only_kpis(got[("2026-01-15", "voice")]) == JAN15
    assert only_kpis(got[("2026-01-16", "chat")]) == kpi(
        offered=3, answered=3, abandoned=0, answered_in_sl=3, service_level=1.0, asa_seconds=21.667,
        aht_seconds=540.0, abandonment_rate=0.0, transfer_rate=0.3333, fcr_rate=1.0, ttr_seconds=782.5,
        occupancy=None, csat=0.5, nps=None, ces=None, surveys=2,
    )  # fmt: skip
    # the callback: offered, neither answered nor abandoned
    assert only_kpis(got[("2026-01-16", "voice")]) == kpi(
        offered=1, answered=0, abandoned=0, answered_in_sl=0, service_level=None, asa_seconds=None,
        aht_seconds=None, abandonment_rate=0.0, transfer_rate=None, fcr_rate=None, ttr_seconds=None,
        occupancy=None, csat=None, nps=None, ces=None, surveys=0,
    )  # fmt: skip


async def test_per_agent_with_occupancy(day: TestServer) -> None:
    got = by_key(
        await kpis(day, **{"from": "2026-01-15", "to": "2026-01-17"}, interval="1d", group_by="agent")
    )
    assert set(got) == {
        ("2026-01-15", "alice"), ("2026-01-15", "bob"), ("2026-01-16", "alice"), ("2026-01-16", "bob")
    }  # fmt: skip
    # occupancy: handling time over handling time plus available idle time (the presence history).
    # alice, January 15: handled c1 23:00:10-23:05:40 (330 s, 160 s of it on her break); available
    # 22:00-23:03 (3780 s), of which 170 s handling: 3610 s idle; 330 / (330 + 3610)
    assert only_kpis(got[("2026-01-15", "alice")]) == kpi(
        offered=1, answered=1, abandoned=0, answered_in_sl=1, service_level=1.0, asa_seconds=10.0,
        aht_seconds=330.0, abandonment_rate=0.0, transfer_rate=0.0, fcr_rate=0.0, ttr_seconds=310.0,
        occupancy=round(330 / 3940, 4), csat=None, nps=None, ces=2.0, surveys=1,
    )  # fmt: skip
    # bob, January 15: available 23:20-24:00 (2400 s), handled c2 23:30:30-23:41:00 (630 s)
    assert only_kpis(got[("2026-01-15", "bob")]) == kpi(
        offered=1, answered=1, abandoned=0, answered_in_sl=0, service_level=0.0, asa_seconds=30.0,
        aht_seconds=630.0, abandonment_rate=0.0, transfer_rate=0.0, fcr_rate=0.0, ttr_seconds=630.0,
        occupancy=round(630 / 2400, 4), csat=None, nps=-100.0, ces=None, surveys=1,
    )  # fmt: skip
    # alice, January 16: available 00:00-01:30 (5400 s), handled c4 (300 s) and c5 (660 s)
    assert only_kpis(got[("2026-01-16", "alice")]) == kpi(
        offered=2, answered=2, abandoned=0, answered_in_sl=2, service_level=1.0, asa_seconds=30.0,
        aht_seconds=480.0, abandonment_rate=0.0, transfer_rate=0.5, fcr_rate=1.0, ttr_seconds=640.0,
        occupancy=round(960 / 5400, 4), csat=0.0, nps=None, ces=None, surveys=1,
    )  # fmt: skip
    # bob, January 16: available 00:00-00:40 (his state since 23:20; 2400 s), handled c4b (660 s)
    assert only_kpis(got[("2026-01-16", "bob")]) == kpi(
        offered=1, answered=1, abandoned=0, answered_in_sl=1, service_level=1.0, asa_seconds=5.0,
        aht_seconds=660.0, abandonment_rate=0.0, transfer_rate=0.0, fcr_rate=1.0, ttr_seconds=925.0,
        occupancy=round(660 / 2400, 4), csat=1.0, nps=None, ces=None, surveys=1,
    )  # fmt: skip


async def test_occupancy_per_hour_splits_work_across_intervals(day: TestServer) -> None:
    rows = await kpis(
        day, **{"from": "2026-01-16T00:00:00", "to": "2026-01-16T02:00:00"}, interval="15m", group_by="agent"
    )
    busy = {(r["interval_start"][11:16], r["key"]): r["occupancy"] for r in rows}
    # alice is available 00:00-01:30 and held c4 00:10:20-00:15:20: 280 s in 00:00-00:15 (of 900
    # available), 20 s in 00:15-00:30; c5 01:00:40-01:11:40: 660 s; the other quarters she was available
    # and idle. bob is available until 00:40 and held c4b 00:15:25-00:26:25: 660 s in 00:15-00:30; idle
    # 00:00-00:15 and 00:30-00:40. Nobody is available after 01:30: no rows.
    assert busy == {
        ("00:00", "alice"): round(280 / 900, 4),
        ("00:00", "bob"): 0.0,
        ("00:15", "alice"): round(20 / 900, 4),
        ("00:15", "bob"): round(660 / 900, 4),
        ("00:30", "alice"): 0.0,
        ("00:30", "bob"): 0.0,
        ("00:45", "alice"): 0.0,
        ("01:00", "alice"): round(660 / 900, 4),
        ("01:15", "alice"): 0.0,
    }


async def test_the_server_timezone_is_the_default_and_csv_holds_the_same_rows(day: TestServer) -> None:
    params = {"from": "2026-01-15", "to": "2026-01-17", "interval": "1d", "group_by": "queue"}
    rows = await kpis(day, **params)
    status, text = await day.request(
        "GET", "/v1/reports/kpis?" + "&".join(f"{k}={v}" for k, v in params.items()) + "&format=csv",
        role="supervisor",
    )  # fmt: skip
    assert status == 200 and day.last_content_type == "text/csv"
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["key"] for r in table] == [r["key"] for r in rows]
    for line, row in zip(table, rows, strict=True):
        assert line["interval_start"] == row["interval_start"]
        for k in KPI_KEYS:
            assert line[k] == ("" if row[k] is None else str(row[k])), k


@pytest.mark.parametrize(
    "query",
    [
        "to=2026-01-17",  # no from
        "from=2026-01-15",  # no to
        "from=yesterday&to=2026-01-17",
        "from=2026-01-17&to=2026-01-15",  # backwards
        "from=2026-01-15&to=2026-01-17&interval=5m",
        "from=2026-01-15&to=2026-01-17&group_by=skill",
        "from=2026-01-15&to=2026-01-17&tz=Mars/Olympus",
        "from=2026-01-15&to=2026-01-17&format=xml",
        "from=2020-01-01&to=2026-01-17&interval=1d",  # more than 400 days
        "from=2025-01-01&to=2026-01-17&interval=15m",  # too many intervals
    ],
)
async def test_bad_parameters_are_422_problems(server: TestServer, query: str) -> None:
    status, body = await server.request("GET", f"/v1/reports/kpis?{query}", role="supervisor")
    assert status == 422, body
    assert server.last_content_type == "application/problem+json"
    assert body["errors"][0]["loc"][0] == "query"


async def test_reports_are_for_supervisors(server: TestServer) -> None:
    q = "/v1/reports/kpis?from=2026-01-15&to=2026-01-17"
    assert (await server.request("GET", q))[0] == 401
    assert (await server.request("GET", q, role="adapter"))[0] == 403
    assert (await server.request("GET", q, token=await server.token("agent", "alice")))[0] == 403
    assert (await server.request("GET", q, token=server.admin_token))[0] == 200


async def test_queue_statistics_count_today_in_the_server_timezone(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    now = datetime.now(UTC)
    local_midnight, utc_midnight = start_of_day("America/Los_Angeles", now), start_of_day("UTC", now)
    # a contact answered one minute before one of the two midnights: in "today" by one day, not the other
    if local_midnight > utc_midnight:
        arrived, today = local_midnight - timedelta(minutes=1), False  # yesterday in Los Angeles
    else:
        arrived, today = utc_midnight - timedelta(minutes=1), True  # yesterday by the UTC day
    ns = server.settings.namespace
    async with server.pool.acquire() as conn, conn.transaction():
        customer = await customers.resolve_customer(conn, [("phone", "+14155550009")], phone="+14155550009")
        it = await interactions.create(
            conn, namespace=ns, interaction_id=uuid.uuid4(), customer_id=customer,
            conversation_id=uuid.uuid4(), new_conversation=True, channel="voice", external_id="today",
            from_kind="phone", from_value="+14155550009", queue_id="billing", priority=0, attributes={},
            subject=None, venq_ms=int(arrived.timestamp() * 1000),
        )  # fmt: skip
        assert await interactions.assign(conn, ns, it.id, "alice")
        assert await interactions.wrapup(conn, ns, it.id, None, None, None)
        assert await interactions.close(conn, ns, it.id, "completed")
        await conn.execute(
            "UPDATE interactions SET created_at = $2::timestamptz,"
            " assigned_at = $2::timestamptz + interval '5 seconds' WHERE id = $1",
            it.id, arrived,
        )  # fmt: skip
    status, queue = await server.request("GET", "/v1/queues/billing", role="supervisor")
    assert status == 200
    assert queue["stats"]["answered_today"] == (1 if today else 0), (arrived, local_midnight, utc_midnight)


def test_start_of_day_is_local_midnight() -> None:
    # 07:30 UTC on January 16 is 23:30 on January 15 in Los Angeles
    now = datetime(2026, 1, 16, 7, 30, tzinfo=UTC)
    assert start_of_day("America/Los_Angeles", now) == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert start_of_day("UTC", now) == datetime(2026, 1, 16, 0, 0, tzinfo=UTC)
    assert start_of_day("Asia/Kolkata", now) == datetime(2026, 1, 15, 18, 30, tzinfo=UTC)
