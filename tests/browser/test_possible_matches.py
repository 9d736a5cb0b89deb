"""An unverified phone typed into the web chat, in real Chromium: the agent's context panel names the
customer it may be, and shows nothing of that customer's history."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from .conftest import Console, new_page
from .pages import Api, panel, sign_in

pytestmark = pytest.mark.browser

CONFIG = """
[[queues]]
id = "support"
skills = { support = 1 }
channels = ["chat", "email"]

[[queues]]
id = "archive"
skills = { archive = 1 }
channels = ["email"]

[[agents]]
id = "alice"
name = "Alice Martin"
skills = { support = 5 }
"""

EARLIER = "Closing the joint account of the Reyes family"


async def test_a_typed_phone_shows_a_possible_match_without_history(
    make_server: Any, browser: Browser, console: Console, screenshots: Any
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    adapter = await server.token("adapter")
    alice_token = await server.token("agent", agent_id="alice")
    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        known = await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "email",
                "external_id": "mail-1",
                "from": {"kind": "email", "value": "ana@example.com"},
                "customer": {"name": "Ana Reyes", "phone": "+1 415 555 0123", "verified": True},
                "queue": "archive",
                "subject": EARLIER,
            },
        )
        chat = await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "chat",
                "external_id": "chat-1",
                "from": {"kind": "chat_visitor", "value": "v-browser-1"},
                "customer": {"name": "Visitor", "phone": "(415) 555-0123"},
                "queue": "support",
                "content": "Hi, it's Ana, about my account",
            },
        )
        assert chat["customer_id"] != known["customer_id"]

        ctx, page = await new_page(browser, console, "desktop")
        await sign_in(page, server.url, "alice", alice_token)
        await page.get_by_role("radio", name="Available").click()
        offer = page.get_by_role("article").filter(has_text="New chat")
        await offer.get_by_role("button", name="Accept").click()
        context = panel(page).get_by_role("complementary", name="Customer context")
        matches = context.locator(".ctx-matches")
        await expect(matches).to_contain_text("Possible matches, not verified")
        await expect(matches.locator(".match-list li")).to_have_count(1)
        await expect(matches).to_contain_text("Ana Reyes")
        await expect(matches).to_contain_text("(same phone)")
        await expect(context.locator(".ctx-name")).to_have_text("Visitor")
        await expect(context).not_to_contain_text(EARLIER)
        await expect(context.locator(".identity-list")).not_to_contain_text("+14155550123")
        await page.screenshot(path=str(screenshots / "desktop-possible-match.png"), animations="disabled")
        await ctx.close()
    assert console.errors == [], "\n".join(console.errors)
