"""The forecast and staffing plan from a synthetic history with a weekly pattern in PostgreSQL: the model
beats seasonal-naive on the held-out week, the plan is Erlang C (written here from its definition), the
CSV parses, the CLI prints the table and the backtest, bad requests are refused."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from router.service.forecast import Forecasts, parse_query
from tests.conftest import MakeServer
from tests.support.configs import routing
from tests.support.history import History, load, weekly_history
from tests.support.servers import Services, TestServer

TZ = "Asia/Kolkata"  # UTC+5:30: local half hours are not UTC half hours
CONFIG = (
    str(
        routing()
        .with_server(timezone=TZ)
        .queue("support", channels=["voice"], service_level_seconds=20)
        .queue("empty", channels=["voice"])
    )
    + "\n[reports]\nshrinkage = 0.25\nservice_level_target = 0.8\n"
)


def today() -> datetime:
    return datetime.now(ZoneInfo(TZ)).replace(hour=0, minute=0, second=0, microsecond=0)


def erlang_c_agents(arrivals: float, seconds: float, aht: float, target: float, t: float) -> int:
    """The fewest agents N for which P(wait <= t) >= target in M/M/N, from the definitions:
    A = arrival rate x AHT; C(N, A) = (A^N/N! x N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! x N/(N-A));
    P(wait <= t) = 1 - C(N, A) exp(-(N - A) t / AHT)."""
    a = arrivals / seconds * aht
    n = math.floor(a) + 1
    while True:
        top = a**n / math.factorial(n) * n / (n - a)
        c = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
        if 1 - c * math.exp(-(n - a) * t / aht) >= target:
            return n
        n += 1


async def _history(server: TestServer, weeks: int = 6, abandon_share: float = 0.0) -> History:
    h = weekly_history(TZ, weeks=weeks, end_day=today().date(), abandon_share=abandon_share)
    await load(server.pool, server.settings.namespace, "support", h)
    return h


async def test_the_forecast_beats_seasonal_naive_and_staffs_by_erlang_c(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    history = await _history(server)
    status, body = await server.request(
        "GET", "/v1/reports/forecast?queue=support&interval=30&horizon_days=7", role="supervisor"
    )
    assert status == 200, body
    # six weeks of history in an eight-week window: the empty weeks before the first contact are left out
    assert body["history_weeks"] == 6
    assert body["history_arrivals"] == len(history.contacts)
    assert datetime.fromisoformat(body["history_end"]) == today()
    back = body["backtest"]
    assert back["actual"] == sum(1 for c in history.contacts if c.at >= today() - timedelta(days=7))
    assert back["wape"] < back["seasonal_naive_wape"], back
    assert len(back["intervals"]) == 7 * 48
    # the forecast follows the weekly pattern: the busiest interval is a weekday late morning
    rows = body["intervals"]
    assert len(rows) == 7 * 48
    assert datetime.fromisoformat(rows[0]["interval_start"]) == today()
    busiest = max(rows, key=lambda r: r["forecast"])
    start = datetime.fromisoformat(busiest["interval_start"]).astimezone(ZoneInfo(TZ))
    assert start.weekday() < 5 and 9 <= start.hour <= 13, busiest
    night = next(r for r in rows if datetime.fromisoformat(r["interval_start"]).hour == 3)
    assert night["forecast"] < busiest["forecast"] / 5
    # no abandons: Erlang C, with the AHT measured from the history
    assert body["staffing_model"] == "erlang_c" and body["patience_seconds"] is None
    assert abs(body["aht_seconds"] - history.aht) < 0.01
    n = erlang_c_agents(busiest["forecast"], 1800, body["aht_seconds"], 0.8, 20)
    assert busiest["agents_needed"] == n
    assert busiest["agents_scheduled"] == math.ceil(n / 0.75)
    assert busiest["service_level"] >= 0.8
    assert body["shrinkage"] == 0.25 and body["service_level_seconds"] == 20


async def test_abandons_give_erlang_a_with_the_estimated_patience(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    history = await _history(server, weeks=4, abandon_share=0.1)
    status, body = await server.request("GET", "/v1/reports/forecast?queue=support", role="supervisor")
    assert status == 200, body
    assert body["staffing_model"] == "erlang_a"
    abandoned = [c for c in history.contacts if c.handle is None]
    waited = sum(c.wait for c in history.contacts)
    assert abs(body["patience_seconds"] - waited / len(abandoned)) < 0.01
    assert abs(body["mean_abandon_seconds"] - sum(c.wait for c in abandoned) / len(abandoned)) < 0.01
    busiest = max(body["intervals"], key=lambda r: r["forecast"])
    # patience lets fewer agents reach the target than Erlang C asks for, never more
    assert busiest["agents_needed"] <= erlang_c_agents(
        busiest["forecast"], 1800, body["aht_seconds"], 0.8, 20
    )


async def test_the_plan_as_csv(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    await _history(server, weeks=3)
    status, text = await server.request(
        "GET", "/v1/reports/forecast?queue=support&interval=60&horizon_days=2&format=csv", role="supervisor"
    )
    assert status == 200 and server.last_content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 * 24
    assert list(rows[0]) == [
        "interval_start", "interval_end", "forecast", "traffic_erlangs", "agents_needed",
        "agents_scheduled", "service_level",
    ]  # fmt: skip
    assert all(
        float(r["forecast"]) >= 0 and int(r["agents_scheduled"]) >= int(r["agents_needed"]) for r in rows
    )


async def test_bad_requests(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    await _history(server, weeks=2)
    for query, where, status in [
        ("", "queue", 422),
        ("queue=support&interval=45", "interval", 422),
        ("queue=support&horizon_days=0", "horizon_days", 422),
        ("queue=support&tz=Mars/Olympus", "tz", 422),
        ("queue=support", "queue", 422),  # two weeks of history: too little
        ("queue=empty", "queue", 422),
    ]:
        got, body = await server.request("GET", f"/v1/reports/forecast?{query}", role="supervisor")
        assert got == status, (query, body)
        assert body["errors"][0]["loc"] == ["query", where], (query, body)
    got, _ = await server.request("GET", "/v1/reports/forecast?queue=nope", role="supervisor")
    assert got == 404
    got, _ = await server.request("GET", "/v1/reports/forecast?queue=support", role="adapter")
    assert got == 403


async def test_the_cli_prints_the_backtest_and_the_table(
    make_server: MakeServer, services: Services, tmp_path: Path
) -> None:
    server = await make_server(CONFIG)
    await _history(server, weeks=4)
    config = tmp_path / "omniroute.toml"
    config.write_text(CONFIG.replace("[routing]", f'[routing]\nnamespace = "{server.settings.namespace}"', 1))
    env = {**os.environ, "DATABASE_URL": services.database_url}

    async def cli(*args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "router", "forecast", "--config", str(config), "--queue", "support", *args,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()

    text = await cli("--interval", "30", "--horizon-days", "7")
    lines = text.splitlines()
    backtest = next(line for line in lines if line.startswith("backtest on the held-out week"))
    assert "WAPE" in backtest and "seasonal-naive WAPE" in backtest
    head = next(i for i, line in enumerate(lines) if line.startswith("interval"))
    assert lines[head].split() == ["interval", "forecast", "erlangs", "agents", "schedule", "SL"]
    table = lines[head + 2 :]
    assert len(table) == 7 * 48
    assert table[0].startswith(today().strftime("%Y-%m-%d 00:00"))
    plan = list(csv.DictReader(io.StringIO(await cli("--interval", "60", "--horizon-days", "1", "--csv"))))
    assert len(plan) == 24 and all(int(r["agents_scheduled"]) >= int(r["agents_needed"]) for r in plan)


async def test_without_statsmodels_the_answer_says_what_to_install(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await make_server(CONFIG)
    await _history(server, weeks=3)
    # sys.modules[name] = None is how Python marks a module as not importable
    monkeypatch.setitem(sys.modules, "statsmodels", None)
    status, body = await server.request("GET", "/v1/reports/forecast?queue=support", role="supervisor")
    assert status == 501 and server.last_content_type == "application/problem+json"
    assert body["type"].endswith("/forecast_unavailable")
    assert "pip install 'omniroute[forecast]'" in body["detail"]


@pytest.mark.parametrize("end_day", [date(2026, 3, 23), date(2026, 11, 16)])
async def test_weeks_across_a_clock_change_keep_every_contact(make_server: MakeServer, end_day: date) -> None:
    """Los Angeles moves its clocks on 8 March and 1 November 2026: every contact of the weeks around is
    counted in its local interval, and the forecast starts at each local midnight."""
    server = await make_server(CONFIG)
    history = weekly_history("America/Los_Angeles", weeks=4, end_day=end_day)
    await load(server.pool, server.settings.namespace, "support", history)
    forecasts = Forecasts(server.pool, server.settings.namespace, shrinkage=0.3, service_level_target=0.8)
    fq = parse_query(
        {"queue": "support", "tz": "America/Los_Angeles", "horizon_days": "2"},
        default_tz=TZ,
        default_weeks=4,
    )
    report = await forecasts.forecast(fq, today=end_day)
    assert report.history_arrivals == len(history.contacts)
    assert report.backtest.actual == sum(
        1 for c in history.contacts if c.at.date() >= end_day - timedelta(days=7)
    )
    assert report.backtest.wape is not None and report.backtest.seasonal_naive_wape is not None
    assert report.backtest.wape < report.backtest.seasonal_naive_wape
    starts = [r.interval_start for r in report.intervals]
    assert [t.strftime("%H:%M") for t in starts[::48]] == ["00:00", "00:00"]
    assert starts[0].date() == end_day
