"""The wallboard's blending panel: a rule watching, then in force with its group and the time since it
came into force when a call waits with no voice capacity, then watching again once the call is answered."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.integration.test_blending import CONFIG, call

from .conftest import Console, new_page

pytestmark = pytest.mark.browser


async def test_the_panel_shows_the_rule_in_force_and_back(
    make_server: Any, browser: Browser, console: Console
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    supervisor = await server.token("supervisor")
    _ctx, board = await new_page(browser, console, "wallboard")
    await board.goto(f"{server.url}/wallboard/#token={supervisor}")
    rule = board.locator('#blending li[data-rule="voice-spike"]')
    await expect(rule).to_have_attribute("data-active", "false")
    await expect(rule).to_contain_text("Watching")
    await expect(rule).to_contain_text("estimated wait over 30")

    agent = await server.agent("a1")
    await server.ingest(**call(7))
    await expect(rule).to_have_attribute("data-active", "true")
    await expect(rule).to_contain_text("In force")
    await expect(rule).to_contain_text("group flex")
    await expect(rule.locator(".blend-since")).to_have_text(re.compile(r"^\d+:\d\d$"))

    offer = await agent.next("offer", timeout=10)
    assert (await agent.call({"type": "accept", "offer_id": offer["offer_id"]}))["type"] == "ack"
    await expect(rule).to_have_attribute("data-active", "false")
    await agent.close()
