"""The customer's chat page in real Chromium while waiting: the queue's question asked and the answer
reaching the agent's offer; a closed queue shown with the offer to leave a message, which becomes an
e-mail interaction; no console errors."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import MakeServer
from tests.support.configs import ADAPTERS_BASE, with_adapters

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("OMNIROUTE_CHROMIUM", "/usr/bin/chromium")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(chromium: Browser, url: str) -> tuple[Page, list[str]]:
    errors: list[str] = []
    page: Page = await chromium.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(url + "/adapters/webchat/")
    return page, errors


async def test_the_page_asks_the_queues_question_and_the_agent_gets_the_answer(
    make_server: MakeServer, chromium: Browser
) -> None:
    config = with_adapters(
        ADAPTERS_BASE.queue("general", questions=[{"id": "intent", "text": "What is it about?"}]),
        webchat={"poll_seconds": 0.2, "queue": "general"},
    )
    server = await make_server(config)
    page, errors = await open_page(chromium, server.url)
    await page.fill("#text", "Hello")
    await page.press("#text", "Enter")
    await expect(page.locator(".line.system")).to_have_text(["What is it about?"], timeout=10_000)
    assert await page.get_attribute("#text", "placeholder") == "Your answer…"
    await page.fill("#text", "a refund")
    await page.press("#text", "Enter")
    await expect(page.locator(".line.customer")).to_have_text(["Hello", "a refund"])
    row = None
    for _ in range(100):  # the answer is stored before the agent comes
        row = await server.pool.fetchval(
            "SELECT attributes->>'intent' FROM interactions WHERE channel = 'chat'"
            " ORDER BY created_at DESC LIMIT 1"
        )
        if row:
            break
        await page.wait_for_timeout(50)
    assert row == "a refund"
    carol = await server.agent("carol")
    offer = await carol.next("offer")
    assert offer["interaction"]["attributes"]["intent"] == "a refund"
    assert errors == []
    await carol.close()


async def test_the_page_shows_a_closed_queue_and_leaves_a_message(
    make_server: MakeServer, chromium: Browser
) -> None:
    seoul = ZoneInfo("Asia/Seoul")
    window = ["01:00", "02:00"] if datetime.now(seoul).hour >= 12 else ["22:00", "23:00"]
    hours = {"timezone": "Asia/Seoul", "weekly": {d: [window] for d in DAYS}}
    config = with_adapters(
        ADAPTERS_BASE.queue("general", hours=hours, closed_action="reject").queue(
            "messages", channels=["email"], skills={"general": 1}
        ),
        webchat={"poll_seconds": 0.2, "queue": "general", "message_queue": "messages"},
    )
    server = await make_server(config)
    page, errors = await open_page(chromium, server.url)
    await page.fill("#email", f"ann-{uuid.uuid4().hex[:6]}@customer.example")
    await page.locator("#email").dispatch_event("change")
    await page.fill("#text", "Anyone there?")
    await page.press("#text", "Enter")
    await expect(page.locator("#status")).to_have_text(
        re.compile(r"^We are closed now\. We open again "), timeout=10_000
    )
    await page.fill("#text", "Please write back about my order")
    await page.press("#text", "Enter")
    await expect(page.locator(".line.system").last).to_have_text(
        "Thank you, your message was left. We will answer by e-mail.", timeout=10_000
    )
    body = await server.pool.fetchval(
        "SELECT m.body FROM messages m JOIN interactions i ON i.id = m.interaction_id"
        " WHERE i.channel = 'email' AND i.queue_id = 'messages'"
    )
    assert body == "Please write back about my order"
    assert errors == []
