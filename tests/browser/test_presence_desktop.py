"""An agent who cannot miss an offer, in Chromium against the real server: each offer announced with a
sound and a browser notification (both can be turned off, and the choice survives a reload), several
offers visible at once on a 1366x768 laptop, the away reasons and the missed state with a one-click
return, a warning before going away or offline while holding work, the queue's disposition codes in
the complete dialog, the journey panel following the completed work, and the wallboard showing why
an agent is away."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from .conftest import Console, new_page
from .pages import Api, panel, sign_in

pytestmark = pytest.mark.browser

CONFIG = """
[presence]
away_reasons = ["lunch", "coaching_1-1"]

[[queues]]
id = "sales"
name = "Sales"
channels = ["chat"]
offer_timeout_seconds = 300
wrapup_seconds = 60
dispositions = ["sold", "call_back_later", "no_sale"]

[[agents]]
id = "alice"
name = "Alice Martin"
capacity = { chat = 5 }
"""

ALERTS = "() => window.omniroute.alerts.log.map((e) => [e.kind, e.offer_id])"


def chat(n: int, who: str) -> dict[str, Any]:
    return {
        "channel": "chat",
        "external_id": f"c{n}",
        "queue": "sales",
        "from": {"kind": "chat_visitor", "value": f"visitor-{n}"},
        "customer": {"name": who},
        "content": f"Hello, this is {who}.",
    }


async def offer_ids(page: Page) -> list[str]:
    ids: list[str] = await page.eval_on_selector_all(".offer", "(els) => els.map((e) => e.dataset.offerId)")
    return ids


async def test_offers_are_announced_and_several_stay_visible(
    make_server: Any, browser: Browser, console: Console, screenshots: Any
) -> None:
    server = await make_server(CONFIG)
    adapter = await server.token("adapter")
    ctx, page = await new_page(browser, console, "desktop")
    await ctx.grant_permissions(["notifications"], origin=server.url)

    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        await sign_in(page, server.url, "alice", await server.token("agent", agent_id="alice"))
        assert await page.evaluate("() => Notification.permission") == "granted"
        await expect(page.get_by_role("button", name="Sound")).to_have_attribute("aria-pressed", "true")
        await expect(page.get_by_role("button", name="Notifications")).to_have_attribute(
            "aria-pressed", "true"
        )
        await page.get_by_role("radio", name="Available").click()  # a gesture: the page may play sound
        await expect(page.get_by_role("radio", name="Available")).to_have_attribute("aria-checked", "true")
        assert await page.evaluate("() => window.omniroute.alerts.audio.state") == "running"

        for n, who in enumerate(["Ana Lima", "Ben Okafor", "Chloé Dubois", "Dev Patel"]):
            await api.post(adapter, "/v1/interactions", chat(n, who))
        await expect(page.locator(".offer")).to_have_count(4)
        ids = await offer_ids(page)
        # each offer once, by sound and by notification
        log = await page.evaluate(ALERTS)
        assert sorted(e for e in log if e[0] == "sound") == sorted(["sound", i] for i in ids)
        assert sorted(e for e in log if e[0] == "notification") == sorted(["notification", i] for i in ids)

        # four offers on a 1366x768 laptop: every card's customer, countdown and buttons in view
        await expect(page.locator("#offers")).to_have_class("offers has-offers several")
        for card in await page.locator(".offer").all():
            for part in (
                card.locator("h2"),
                card.locator(".offer-left"),
                card.get_by_role("button", name="Accept"),
            ):
                box = await part.bounding_box()
                assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768, (
                    await part.inner_text()
                )
        await page.screenshot(path=str(screenshots / "desktop-offers-several.png"))

        # sound off: remembered across a reload; the next offer is only notified
        await page.get_by_role("button", name="Sound").click()
        await expect(page.get_by_role("button", name="Sound")).to_have_attribute("aria-pressed", "false")
        await page.reload()
        await expect(page.locator("#conn")).to_have_attribute("data-status", "open")
        await expect(page.get_by_role("button", name="Sound")).to_have_attribute("aria-pressed", "false")
        assert await page.evaluate("() => localStorage.getItem('omniroute.desktop.sound')") == "off"
        await page.get_by_role("button", name="Notifications").click()
        await expect(page.get_by_role("button", name="Notifications")).to_have_attribute(
            "aria-pressed", "false"
        )
        await page.get_by_role("button", name="Notifications").click()  # and back on
        await expect(page.locator(".offer")).to_have_count(4)
        before = set(await offer_ids(page))
        await api.post(adapter, "/v1/interactions", chat(9, "Eve Novak"))
        await expect(page.locator(".offer")).to_have_count(5)
        (new,) = set(await offer_ids(page)) - before
        await page.wait_for_function(
            "(id) => window.omniroute.alerts.log.some((e) => e.kind === 'notification' && e.offer_id === id)",
            arg=new,
        )
        assert ["sound", new] not in await page.evaluate(ALERTS)

        # notifications off too: nothing announces the next one
        await page.get_by_role("button", name="Notifications").click()
        assert await page.evaluate("() => localStorage.getItem('omniroute.desktop.notify')") == "off"
        count = len(await page.evaluate(ALERTS))
        await page.locator(".offer .accept").first.click()  # room for one more is there anyway
        await expect(page.locator(".offer")).to_have_count(4)
        assert len(await page.evaluate(ALERTS)) == count
        assert console.errors == []
    await ctx.close()


async def test_away_reasons_missed_state_warnings_dispositions_and_journey(
    make_server: Any, browser: Browser, console: Console, screenshots: Any
) -> None:
    server = await make_server(CONFIG)
    adapter = await server.token("adapter")
    supervisor = await server.token("supervisor")

    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        board_ctx, board = await new_page(browser, console, "wallboard")
        await board.goto(f"{server.url}/wallboard/#token={supervisor}")
        ctx, page = await new_page(browser, console, "desktop")
        await sign_in(page, server.url, "alice", await server.token("agent", agent_id="alice"))
        await page.get_by_role("radio", name="Available").click()
        await expect(page.get_by_role("radio", name="Available")).to_have_attribute("aria-checked", "true")

        # the router put the agent away for a missed offer (the same frame whoever changes the state)
        await page.evaluate(
            "() => window.omniroute.request({type: 'set_state', state: 'away', reason: 'missed'})"
        )
        banner = page.locator("#presence-banner")
        await expect(banner).to_be_visible()
        await expect(banner).to_contain_text("You missed an offer")
        await expect(page.get_by_role("radio", name="Away")).to_have_attribute("aria-checked", "true")
        row = board.locator('tr[data-agent="alice"]')
        await expect(row).to_contain_text("missed")
        await page.screenshot(path=str(screenshots / "desktop-missed.png"))
        await banner.get_by_role("button", name="Back to Available").click()  # one click back
        await expect(page.get_by_role("radio", name="Available")).to_have_attribute("aria-checked", "true")
        await expect(banner).to_be_hidden()
        assert (await server.engine.agent_live("alice"))["state"] == "available"
        await expect(row).not_to_contain_text("missed")

        # going away while holding work: the reason is asked, and what it means for the work said
        await api.post(adapter, "/v1/interactions", chat(1, "Ana Lima"))
        await page.get_by_role("button", name="Accept").click()
        await expect(page.get_by_role("tab")).to_have_count(1)
        await page.get_by_role("radio", name="Away").click()
        dialog = page.get_by_role("dialog", name="Go away")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#state-warning")).to_contain_text("You hold 1 piece of work")
        reasons = await dialog.get_by_label("Reason").locator("option").all_inner_texts()
        assert reasons == ["lunch", "coaching 1-1"], "the configured reasons; missed is not one to choose"
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(page.get_by_role("radio", name="Available")).to_have_attribute("aria-checked", "true")
        assert (await server.engine.agent_live("alice"))["state"] == "available", "cancel changes nothing"

        await page.get_by_role("radio", name="Away").click()
        await dialog.get_by_label("Reason").select_option("coaching_1-1")
        await dialog.get_by_role("button", name="Go away").click()
        await expect(page.get_by_role("radio", name="Away")).to_have_attribute("aria-checked", "true")
        await expect(banner).to_contain_text("coaching 1-1")
        live = await server.engine.agent_live("alice")
        assert (live["state"], live["reason"]) == ("away", "coaching_1-1")
        await expect(row).to_contain_text("coaching 1-1")

        await page.get_by_role("radio", name="Offline").click()
        offline = page.get_by_role("dialog", name="Go offline")
        await expect(offline).to_be_visible()
        await expect(offline.locator("#state-warning")).to_contain_text("You hold 1 piece of work")
        await expect(offline.get_by_label("Reason")).to_be_hidden()
        await offline.get_by_role("button", name="Cancel").click()
        assert (await server.engine.agent_live("alice"))["state"] == "away"
        await banner.get_by_role("button", name="Back to Available").click()
        await expect(page.get_by_role("radio", name="Available")).to_have_attribute("aria-checked", "true")

        # complete offers the queue's codes only; the journey panel follows the completed work
        work = panel(page)
        current = work.locator(".tl-current")
        await expect(current).to_contain_text("in progress")
        await work.get_by_role("button", name="Complete").click()
        complete = page.get_by_role("dialog", name="Complete: Ana Lima (Chat)")
        await expect(complete).to_be_visible()
        await expect(complete.get_by_label("Disposition code")).to_be_hidden()
        codes = complete.get_by_label("Disposition", exact=True)
        await expect(codes).to_be_focused()
        options = await codes.locator("option").all_inner_texts()
        assert options == ["Choose…", "sold", "call back later", "no sale"]
        await complete.get_by_role("button", name="Complete and start wrap-up").click()
        await expect(complete).to_contain_text("Choose a disposition.")
        await codes.select_option("call_back_later")
        await complete.get_by_label("Summary (stays on the customer's record)").fill(
            "Wants a quote on Friday"
        )
        await complete.get_by_role("button", name="Complete and start wrap-up").click()
        await expect(complete).to_be_hidden()
        await expect(current).to_contain_text("wrap-up")
        await expect(current).to_contain_text("call_back_later")
        await expect(current).to_contain_text("Wants a quote on Friday")
        await expect(current).not_to_contain_text("in progress")
        await page.screenshot(path=str(screenshots / "desktop-completed-journey.png"))
        assert console.errors == []
        await board_ctx.close()
    await ctx.close()
