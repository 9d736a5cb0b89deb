"""The reports page and the wallboard's KPIs of today in real Chromium, over a synthetic history in
PostgreSQL: KPI rows for a range with their chart and CSV download, the forecast against the held-out
week's actual arrivals with the staffing plan and its CSV; on the wallboard, today's ASA, AHT,
abandonment and CSAT of the queue."""

from __future__ import annotations

import csv
import hashlib
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from context_store.synthetic import SyntheticContact
from tests.support.configs import routing
from tests.support.history import load, weekly_history

from .conftest import Console, new_page
from .pages import Api

pytestmark = pytest.mark.browser

TZ = "Asia/Kolkata"
CONFIG = str(
    routing()
    .with_server(timezone=TZ)
    .queue("support", name="Support", channels=["voice"], service_level_seconds=20)
)


def interaction_id(external_id: str) -> str:
    return str(uuid.UUID(hashlib.md5(f"synthetic-interaction-{external_id}".encode()).hexdigest()))


async def test_reports_page_and_wallboard_kpis(
    make_server: Any, browser: Browser, console: Console, screenshots: Path
) -> None:
    expect.set_options(timeout=20_000)
    server = await make_server(CONFIG)
    midnight = datetime.now(ZoneInfo(TZ)).replace(hour=0, minute=0, second=0, microsecond=0)
    history = weekly_history(TZ, weeks=3, end_day=midnight.date())
    # today: two answered after 10 s and 30 s, handled 300 s and 360 s, one abandoned; one CSAT 5
    history.contacts += [
        SyntheticContact("today-1", midnight + timedelta(seconds=1), 10, 300),
        SyntheticContact("today-2", midnight + timedelta(seconds=2), 30, 360),
        SyntheticContact("today-3", midnight + timedelta(seconds=3), 45, None),
    ]
    await load(server.pool, server.settings.namespace, "support", history)
    supervisor = await server.token("supervisor")
    async with aiohttp.ClientSession() as http:
        await Api(http, server.url).post(
            await server.token("adapter"),
            f"/v1/interactions/{interaction_id('today-1')}/survey",
            {"kind": "csat", "score": 5},
        )

    # ---- the wallboard: today's KPIs of the queue
    board_ctx, board = await new_page(browser, console, "wallboard")
    await board.goto(f"{server.url}/wallboard/#token={supervisor}")
    card = board.locator('[data-queue="support"]')
    await expect(card.locator(".q-asa")).to_have_text("0:20")
    await expect(card.locator(".q-aht")).to_have_text("5:30")
    await expect(card.locator(".q-abandonment")).to_have_text("33%")
    await expect(card.locator(".q-csat")).to_have_text("100%")
    await expect(card.get_by_text("ASA today")).to_be_visible()
    await board.screenshot(path=str(screenshots / "wallboard-kpis.png"), animations="disabled")
    await board_ctx.close()

    # ---- the reports page: KPIs by day over the last week and today
    ctx, page = await new_page(browser, console, "reports")
    await page.goto(f"{server.url}/reports/#token={supervisor}")
    await page.get_by_label("From").fill((midnight - timedelta(days=7)).strftime("%Y-%m-%d"))
    await page.get_by_label("To (exclusive)").fill((midnight + timedelta(days=1)).strftime("%Y-%m-%d"))
    await page.get_by_label("Interval", exact=True).first.select_option("1d")
    await page.get_by_label("Group by").select_option("queue")
    await page.get_by_role("button", name="Show").click()
    rows = page.locator("#kpi-rows tr")
    await expect(rows).to_have_count(8)
    await expect(rows.last.locator("td").nth(1)).to_have_text("support")
    await expect(rows.last.locator("td").nth(2)).to_have_text("3")
    week = [c for c in history.contacts if c.at >= midnight - timedelta(days=7)]
    chart = page.get_by_role("img", name="Contacts offered and service level per interval")
    assert f": 8 intervals; Offered total {len(week)};" in (await chart.get_attribute("aria-label") or "")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download CSV").click()
    download = await info.value
    with open(await download.path(), newline="") as f:
        kpi_csv = list(csv.DictReader(f))
    assert len(kpi_csv) == 8 and {r["key"] for r in kpi_csv} == {"support"}
    assert kpi_csv[-1]["offered"] == "3" and kpi_csv[-1]["csat"] == "1.0"

    # ---- the forecast against the held-out week, and the staffing plan
    await page.get_by_label("Queue").select_option("support")
    await page.get_by_role("button", name="Forecast").click()
    await expect(page.locator("#fc-rows tr")).to_have_count(7 * 48)
    await expect(page.locator("#fc-facts")).to_contain_text("WAPE")
    back = page.get_by_role("img", name="Held-out week: forecast against actual arrivals")
    await expect(back).to_be_visible()
    held_out = sum(1 for c in history.contacts if midnight - timedelta(days=7) <= c.at < midnight)
    assert f"Actual total {held_out}," in (await back.get_attribute("aria-label") or "")
    await expect(page.get_by_role("img", name="Forecast arrivals and agents to schedule")).to_be_visible()
    await page.screenshot(
        path=str(screenshots / "reports-forecast.png"), full_page=True, animations="disabled"
    )
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download staffing plan (CSV)").click()
    download = await info.value
    assert download.suggested_filename == "forecast-support.csv"
    with open(await download.path(), newline="") as f:
        plan = list(csv.DictReader(f))
    assert len(plan) == 7 * 48 and all(int(r["agents_scheduled"]) >= int(r["agents_needed"]) for r in plan)
    await ctx.close()
    assert console.errors == [], "\n".join(console.errors)
