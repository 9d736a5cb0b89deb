"""The customer's chat page in real Chromium against a real server: the capability note, the
live queue position, the agent's reply, a reload that keeps the conversation, a supervisor's message
marked as theirs, no console errors."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import MakeServer
from tests.support.configs import with_adapters
from tests.support.supervisors import supervisor

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("OMNIROUTE_CHROMIUM", "/usr/bin/chromium")


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


async def test_customer_chats_from_the_page(make_server: MakeServer, chromium: Browser) -> None:
    server = await make_server(with_adapters(webchat={"poll_seconds": 0.2}))
    errors: list[str] = []
    page: Page = await chromium.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    await page.goto(server.url + "/adapters/webchat/")
    await expect(page.locator("#note")).to_have_text("This chat carries text only (no attachments or calls).")
    await page.fill("#email", "ann@customer.example")
    await page.locator("#email").dispatch_event("change")
    await page.fill("#text", "Where is my parcel?")
    await page.press("#text", "Enter")
    await expect(page.locator(".line.customer")).to_have_text(["Where is my parcel?"])
    # With nobody signed in there is no wait estimate yet, only the position.
    await expect(page.locator("#status")).to_have_text(re.compile(r"^You are next in line\."), timeout=10_000)

    carol = await server.agent("carol")
    offer, _ = await carol.accept_next()
    assert offer["context"]["customer"]["email"] == "ann@customer.example"
    await expect(page.locator("#status")).to_have_text("An agent is with you.", timeout=10_000)
    ack = await carol.call(
        {"type": "send_message", "interaction_id": offer["interaction"]["id"], "body": "It arrives today."}
    )
    assert ack["type"] == "ack", ack
    await expect(page.locator(".line.agent")).to_have_text(["It arrives today."], timeout=10_000)

    await page.reload()
    await expect(page.locator("#status")).to_have_text("An agent is with you.", timeout=10_000)
    await expect(page.locator(".line")).to_have_text(["Where is my parcel?", "It arrives today."])
    assert await page.input_value("#email") == "ann@customer.example"
    assert errors == []
    await carol.close()


async def test_a_supervisors_barge_shows_on_the_page_as_the_supervisors(
    make_server: MakeServer, chromium: Browser
) -> None:
    server = await make_server(with_adapters(webchat={"poll_seconds": 0.2}))
    errors: list[str] = []
    page: Page = await chromium.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(server.url + "/adapters/webchat/")
    await page.fill("#text", "I want a refund")
    await page.press("#text", "Enter")
    await expect(page.locator(".line.customer")).to_have_text(["I want a refund"])

    carol = await server.agent("carol")
    offer, _ = await carol.accept_next()
    iid = offer["interaction"]["id"]
    assert (await carol.call({"type": "send_message", "interaction_id": iid, "body": "Let me see."}))[
        "type"
    ] == "ack"
    async with supervisor(server) as sup:
        ack = await sup.call({"type": "barge", "interaction_id": iid, "body": "The refund is on its way."})
        assert ack["type"] == "ack", ack
    await expect(page.locator(".line.agent")).to_have_text(["Let me see."], timeout=10_000)
    barged = page.locator(".line.supervisor")
    await expect(barged).to_have_text(["Supervisor\nThe refund is on its way."], timeout=10_000)
    await expect(barged.locator(".who")).to_have_text("Supervisor")
    assert errors == [], errors
    await carol.close()
