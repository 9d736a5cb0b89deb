"""The wallboard on a big center: the agent table shows one page of agents, pages forward and back,
filters by queue, and a page's agent changes live while agents on other pages are not shown."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from .conftest import Console, new_page

pytestmark = pytest.mark.browser

SALES = [f"s{k:03d}" for k in range(120)]
SUPPORT = [f"t{k:03d}" for k in range(30)]


def _config() -> str:
    out = [
        '[[queues]]\nid = "sales"\nname = "Sales"\nskills = { sales = 1 }\nchannels = ["chat"]\n',
        '[[queues]]\nid = "support"\nname = "Support"\nskills = { support = 1 }\nchannels = ["chat"]\n',
    ]
    out += [f'[[agents]]\nid = "{a}"\nname = "Sales {a}"\nskills = {{ sales = 1 }}\n' for a in SALES]
    out += [f'[[agents]]\nid = "{a}"\nname = "Support {a}"\nskills = {{ support = 1 }}\n' for a in SUPPORT]
    return "\n".join(out)


async def test_the_wallboard_pages_through_the_agents_of_a_big_center(
    make_server: Any, browser: Browser, console: Console
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(_config())
    supervisor = await server.token("supervisor")
    ctx, board = await new_page(browser, console, "wallboard")
    await board.goto(f"{server.url}/wallboard/#token={supervisor}")
    await expect(board.locator("#conn")).to_have_attribute("data-status", "open")
    rows = board.locator("#agents tr")
    label = board.locator("#agents-page")

    # the first page of everyone: 50 of 150
    await expect(rows).to_have_count(50)
    await expect(label).to_have_text("Page 1 of 3 · agents 1 to 50 of 150")
    await expect(rows.first).to_contain_text("s000")
    await expect(board.locator("#agents-prev")).to_be_disabled()

    # an agent on another page changes: not shown; one on this page: shown live
    hidden = await server.agent("s060")
    shown = await server.agent("s001")
    await expect(board.locator('#agents tr[data-agent="s001"]')).to_contain_text("Available")
    await expect(board.locator('#agents tr[data-agent="s060"]')).to_have_count(0)

    # next page: the next 50, and s060 as it is now
    await board.locator("#agents-next").click()
    await expect(label).to_have_text("Page 2 of 3 · agents 51 to 100 of 150")
    await expect(rows).to_have_count(50)
    await expect(rows.first).to_contain_text("s050")
    await expect(board.locator('#agents tr[data-agent="s060"]')).to_contain_text("Available")
    await expect(board.locator('#agents tr[data-agent="s001"]')).to_have_count(0)
    await board.locator("#agents-next").click()
    await expect(label).to_have_text("Page 3 of 3 · agents 101 to 150 of 150")
    await expect(board.locator("#agents-next")).to_be_disabled()
    await board.locator("#agents-prev").click()
    await expect(label).to_have_text("Page 2 of 3 · agents 51 to 100 of 150")

    # a queue's agents only, from its first page
    await board.locator("#agents-queue").select_option("support")
    await expect(label).to_have_text("Page 1 of 1 · agents 1 to 30 of 30")
    await expect(rows).to_have_count(30)
    await expect(rows.first).to_contain_text("t000")
    await expect(board.locator('#agents tr[data-agent^="s"]')).to_have_count(0)

    # a reconnect keeps the view
    await board.reload()
    await expect(board.locator("#conn")).to_have_attribute("data-status", "open")
    await expect(label).to_have_text("Page 1 of 1 · agents 1 to 30 of 30")
    await expect(board.locator("#agents-queue")).to_have_value("support")

    await hidden.close()
    await shown.close()
    await ctx.close()
    assert console.errors == [], "\n".join(console.errors)
