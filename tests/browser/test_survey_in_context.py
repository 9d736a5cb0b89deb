"""A survey answer in real Chromium: the customer answered NPS 3 after this morning's call; the agent who
takes their next contact sees "NPS 3 … after this call" and the comment, as text, in the context panel."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from context_store import interactions

from .conftest import Console, new_page
from .pages import Api, panel, sign_in

pytestmark = pytest.mark.browser

CONFIG = """
[[queues]]
id = "support"
skills = { support = 1 }
channels = ["sms"]

[[queues]]
id = "calls"
skills = { calls = 1 }
channels = ["voice"]

[[agents]]
id = "alice"
name = "Alice Martin"
skills = { support = 5 }
"""

PHONE = "+14155550142"
COMMENT = "<i>waited</i> too long"  # customer text: shown as text, never rendered


async def test_the_next_agent_sees_the_survey_answer_of_the_last_call(
    make_server: Any, browser: Browser, console: Console, screenshots: Any
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    adapter = await server.token("adapter")
    alice_token = await server.token("agent", agent_id="alice")
    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        call = await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "voice",
                "external_id": "CA-survey",
                "from": {"kind": "phone", "value": PHONE},
                "queue": "calls",
            },
        )
        # the call was handled and completed by another agent (the record, as the work service leaves it)
        async with server.pool.acquire() as conn, conn.transaction():
            assert await interactions.assign(conn, server.settings.namespace, call["id"], "bob")
            assert await interactions.wrapup(
                conn, server.settings.namespace, call["id"], "resolved", None, None
            )
            assert await interactions.close(conn, server.settings.namespace, call["id"], "completed")
        await api.post(
            adapter, f"/v1/interactions/{call['id']}/survey", {"kind": "nps", "score": 3, "comment": COMMENT}
        )
        await api.post(
            adapter,
            "/v1/interactions",
            {"channel": "sms", "external_id": "SM-after", "from": {"kind": "phone", "value": PHONE},
             "queue": "support", "content": "About my call this morning"},
        )  # fmt: skip

        ctx, page = await new_page(browser, console, "desktop")
        await sign_in(page, server.url, "alice", alice_token)
        await page.get_by_role("radio", name="Available").click()
        await page.get_by_role("article").first.get_by_role("button", name="Accept").click()
        context = panel(page).get_by_role("complementary", name="Customer context")
        survey = context.locator(f'[data-interaction-id="{call["id"]}"] .tl-survey')
        await expect(survey).to_contain_text("NPS 3")
        await expect(survey).to_contain_text("after this call")
        await expect(survey).to_have_class("tl-survey survey-bad")
        await expect(survey.locator(".survey-comment")).to_contain_text(COMMENT)
        assert await survey.locator("i").count() == 0
        await page.screenshot(path=str(screenshots / "desktop-survey.png"), animations="disabled")
        await ctx.close()
    assert console.errors == [], "\n".join(console.errors)
