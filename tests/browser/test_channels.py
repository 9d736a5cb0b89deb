"""The pages keep no copy of the channel table: the labels, arrival words, icons and order they
show are the ones GET /v1/meta answers. One wallboard reads the server's own table; another
wallboard and a desktop get a table altered on its way to the page, and show the alterations."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Route, expect

from .conftest import Console, new_page
from .pages import Api, panel, sign_in

pytestmark = pytest.mark.browser

CONFIG = """
[[queues]]
id = "support"
name = "Customer support"
channels = ["chat", "email"]
offer_timeout_seconds = 120

[[agents]]
id = "alice"
name = "Alice Martin"
capacity = { chat = 3, email = 5 }
"""

# What only the altered table says: no page could draw these from a copy of its own.
CHAT_LABEL = "Live chat"
CHAT_ARRIVAL = "Visitor waiting"
CHAT_ICON = "M2 2h20v20H2z"
EMAIL_LABEL = "Mailbox"


def altered(table: dict[str, Any]) -> dict[str, Any]:
    """The server's table with new words for chat and e-mail, in reverse order."""
    channels = []
    for c in table["channels"]:
        if c["name"] == "chat":
            c = {**c, "label": CHAT_LABEL, "arrival": CHAT_ARRIVAL, "icon": CHAT_ICON}
        elif c["name"] == "email":
            c = {**c, "label": EMAIL_LABEL}
        channels.append(c)
    return {**table, "channels": channels[::-1]}


async def alter_meta(context: BrowserContext) -> list[str]:
    """Every /v1/meta answer this browser context receives is altered; returns the URLs seen."""
    seen: list[str] = []

    async def handle(route: Route) -> None:
        seen.append(route.request.url)
        response = await route.fetch()
        assert response.status == 200, await response.text()
        await route.fulfill(response=response, json=altered(await response.json()))

    await context.route("**/v1/meta", handle)
    return seen


async def test_pages_show_the_channel_table_the_server_sends(
    make_server: Any, browser: Browser, console: Console
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    adapter = await server.token("adapter")
    supervisor = await server.token("supervisor")

    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        async with http.get(server.url + "/v1/meta") as r:  # public: no token
            assert r.status == 200, await r.text()
            table = await r.json()
        labels = {c["name"]: c["label"] for c in table["channels"]}
        order = [c["name"] for c in table["channels"]]
        assert {"chat", "email"} <= set(order)
        assert CHAT_LABEL not in labels.values() and EMAIL_LABEL not in labels.values()

        # ---- a wallboard with the server's own table: its labels, in its order
        board_ctx, board = await new_page(browser, console, "wallboard")
        await board.goto(f"{server.url}/wallboard/#token={supervisor}")
        alice = board.locator('tr[data-agent="alice"] .load-label')
        await expect(alice).to_have_text([labels[c] for c in order])

        # ---- a wallboard with an altered table: the altered words, in the altered order
        board2_ctx, board2 = await new_page(browser, console, "wallboard (altered)")
        seen = await alter_meta(board2_ctx)
        await board2.goto(f"{server.url}/wallboard/#token={supervisor}")
        changed = [c["label"] for c in altered(table)["channels"]]
        await expect(board2.locator('tr[data-agent="alice"] .load-label')).to_have_text(changed)
        assert len(seen) == 1, seen

        # ---- a desktop with the altered table: offer, tab, icon, work, load and transfer say so
        ctx, a = await new_page(browser, console, "desktop (altered)")
        seen = await alter_meta(ctx)
        await sign_in(a, server.url, "alice", await server.token("agent", agent_id="alice"))
        await a.get_by_role("radio", name="Available").click()
        await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "chat",
                "external_id": "meta-1",
                "from": {"kind": "chat_visitor", "value": "visitor-meta"},
                "customer": {"name": "Ines Duarte"},
                "queue": "support",
                "content": "Hello?",
            },
        )
        offer = a.get_by_role("article").filter(has_text="Ines Duarte")
        await expect(offer.get_by_role("heading")).to_have_text(f"{CHAT_ARRIVAL}: Ines Duarte")
        await offer.get_by_role("button", name="Accept").click()
        tab = a.get_by_role("tab", name=f"{CHAT_LABEL}: Ines Duarte")
        await expect(tab).to_have_attribute("aria-selected", "true")
        await expect(tab.locator("svg path")).to_have_attribute("d", CHAT_ICON)
        work = panel(a)
        await expect(work.locator(".work-meta")).to_contain_text(f"{CHAT_LABEL} · queue support")
        await expect(work.get_by_role("log")).to_have_attribute("aria-label", f"{CHAT_LABEL} conversation")
        await expect(a.locator("#load")).to_have_text(f"{CHAT_LABEL} 1/3")
        await expect(board2.locator('tr[data-agent="alice"] .load.channel-chat')).to_contain_text("1/3")

        await work.get_by_role("button", name="Transfer…").click()
        channel = a.get_by_role("dialog").get_by_label("On channel")
        await expect(channel.locator("option").first).to_have_text(f"Same channel ({CHAT_LABEL})")
        escalate = channel.locator("option", has_text=EMAIL_LABEL)
        await expect(escalate).to_have_text(f"Escalate to {EMAIL_LABEL}")
        await a.keyboard.press("Escape")
        assert len(seen) == 1, f"the desktop fetches the channel table once: {seen}"
        assert console.errors == [], "\n".join(console.errors)
        for c in (ctx, board_ctx, board2_ctx):
            await c.close()
