"""A dropped connection is visible on both pages, both reconnect by themselves, and the desktop
resumes the work it held (with what happened meanwhile) without losing the reply being typed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from .conftest import Console, new_page
from .netcut import NetCut
from .pages import Api, panel, sign_in, waiting

pytestmark = pytest.mark.browser

CONFIG = """
[routing]
reconnect_grace_seconds = 120

[[queues]]
id = "support"
name = "Customer support"
skills = { billing = 1 }
channels = ["voice", "chat", "email"]
offer_timeout_seconds = 120
wrapup_seconds = 60

[[agents]]
id = "alice"
name = "Alice Martin"
skills = { billing = 5 }
"""


async def test_dropped_connection_is_visible_and_work_resumes(
    make_server: Any, browser: Browser, console: Console, screenshots: Any
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    target = urlsplit(server.url)
    assert target.hostname and target.port
    net = NetCut(target.hostname, target.port)
    url = await net.start()  # the browser reaches the server only through this relay
    adapter = await server.token("adapter")
    supervisor = await server.token("supervisor")

    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        board_ctx, board = await new_page(browser, console, "wallboard")
        await board.goto(f"{url}/wallboard/#token={supervisor}")
        await expect(waiting(board, "support")).to_have_text("0")

        a_ctx, a = await new_page(browser, console, "desktop")
        await sign_in(a, url, "alice", await server.token("agent", agent_id="alice"))
        await a.get_by_role("radio", name="Available").click()
        chat = await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "chat",
                "external_id": "chat-reconnect-1",
                "from": {"kind": "chat_visitor", "value": "visitor-42"},
                "customer": {"name": "Sam Reyes"},
                "queue": "support",
                "content": "Hello, my parcel never arrived.",
            },
        )
        await (
            a.get_by_role("article").filter(has_text="New chat").get_by_role("button", name="Accept").click()
        )
        reply = panel(a).get_by_label("Reply to the customer")
        await reply.fill("Sorry to hear that, let me look it up")  # a draft, not sent

        # ---- the network drops
        net.cut()
        await expect(a.locator("#conn")).to_have_attribute("data-status", "connecting")
        await expect(a.locator("#banner")).to_contain_text("Connection lost")
        await expect(a.locator("#conn")).to_contain_text("Reconnecting")
        await expect(board.locator("#banner")).to_contain_text("Connection lost")
        await a.screenshot(path=str(screenshots / "desktop-reconnecting.png"), animations="disabled")

        # meanwhile the customer writes again and another call comes in
        await api.post(
            adapter,
            f"/v1/interactions/{chat['id']}/messages",
            {"direction": "inbound", "body": "Are you still there?"},
        )
        await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "voice",
                "external_id": "call-reconnect-1",
                "from": {"kind": "phone", "value": "+15550100999"},
                "queue": "support",
            },
        )
        # the page still shows the work held, and the draft is intact
        await expect(a.get_by_role("tab", name="Sam Reyes")).to_be_visible()
        await expect(reply).to_have_value("Sorry to hear that, let me look it up")

        # ---- the network is back: both pages reconnect on their own
        net.restore()
        await expect(a.locator("#conn")).to_have_attribute("data-status", "open")
        await expect(a.locator("#banner")).to_be_hidden()
        await expect(a.get_by_role("tab", name="Sam Reyes")).to_have_attribute("aria-selected", "true")
        await expect(panel(a).get_by_role("log")).to_contain_text("Hello, my parcel never arrived.")
        await expect(panel(a).get_by_role("log")).to_contain_text(
            "Are you still there?"
        )  # from the hello frame
        await expect(reply).to_have_value("Sorry to hear that, let me look it up")
        await expect(board.locator("#conn")).to_have_attribute("data-status", "open")
        await expect(board.locator("#banner")).to_be_hidden()
        await expect(waiting(board, "support")).to_have_text("1")  # the call that came in meanwhile

        # the resumed socket works: the reply goes out
        await reply.press("Enter")
        await expect(panel(a).get_by_role("log")).to_contain_text("Sorry to hear that, let me look it up")
        assert net.held >= 1, "the pages tried to reconnect while the network was down"
        await board.screenshot(path=str(screenshots / "wallboard-1366.png"), animations="disabled")

        assert console.errors == [], "\n".join(console.errors)
        for ctx in (a_ctx, board_ctx):
            await ctx.close()
    await net.stop()


async def test_a_silent_network_is_noticed_and_left(
    make_server: Any, browser: Browser, console: Console
) -> None:
    """Nothing closes the socket, nothing comes through: the desktop notices within seconds (its
    pings go unanswered), says so, and reconnects once the network carries data again."""
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    target = urlsplit(server.url)
    assert target.hostname and target.port
    net = NetCut(target.hostname, target.port)
    url = await net.start()
    ctx, a = await new_page(browser, console, "desktop")
    await sign_in(a, url, "alice", await server.token("agent", agent_id="alice"))
    await a.get_by_role("radio", name="Available").click()

    net.blackhole()
    await expect(a.locator("#conn")).not_to_have_attribute("data-status", "open", timeout=20_000)
    await expect(a.locator("#banner")).to_contain_text("Connection lost")
    net.restore()
    await expect(a.locator("#conn")).to_have_attribute("data-status", "open", timeout=20_000)
    await expect(a.locator("#banner")).to_be_hidden()
    await expect(a.get_by_role("radio", name="Available")).to_have_attribute("aria-checked", "true")
    assert console.errors == [], "\n".join(console.errors)
    await ctx.close()
    await net.stop()


async def test_a_wrong_token_is_refused_with_a_reason(
    make_server: Any, browser: Browser, console: Console
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    ctx, page = await new_page(browser, console, "desktop")
    await page.goto(server.url + "/desktop/")
    await page.get_by_label("Agent id").fill("alice")
    await page.get_by_label("Token").fill("not-a-real-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#signin-error")).to_have_text("Cannot sign in: the token is not valid.")
    await expect(page.get_by_label("Token")).to_be_focused()

    # a real token of another agent opens only that agent's desktop
    alice_token = await server.token("agent", agent_id="alice")
    await page.get_by_label("Agent id").fill("someone-else")
    await page.get_by_label("Token").fill(alice_token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#signin-error")).to_have_text(
        "Cannot sign in: this token belongs to another agent."
    )
    # the wallboard too: an agent token is not a supervisor token
    board_ctx, board = await new_page(browser, console, "wallboard")
    await board.goto(f"{server.url}/wallboard/#token={alice_token}")
    await expect(board.locator("#signin-error")).to_have_text(
        "Cannot open the wallboard: this is not a supervisor token."
    )
    await expect(board.get_by_label("Supervisor token")).to_be_focused()
    await board_ctx.close()

    # the failed handshakes are the browser's own console errors here, nothing else
    assert all("WebSocket" in e or "Failed to load resource" in e for e in console.errors), console.errors
    await ctx.close()


async def test_a_second_desktop_of_the_same_agent_takes_over(
    make_server: Any, browser: Browser, console: Console
) -> None:
    """The older desktop stops and says why, rather than fighting the newer one for the session."""
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    token = await server.token("agent", agent_id="alice")
    first_ctx, first = await new_page(browser, console, "first desktop")
    await sign_in(first, server.url, "alice", token)
    second_ctx, second = await new_page(browser, console, "second desktop")
    await sign_in(second, server.url, "alice", token)

    await expect(first.locator("#signin-error")).to_contain_text("another desktop")
    await expect(first.get_by_role("button", name="Sign in")).to_be_visible()
    await second.wait_for_timeout(1500)  # the newer one stays connected
    await expect(second.locator("#conn")).to_have_attribute("data-status", "open")

    # one click takes it back (the id and token are still filled in); now the other one stops
    await first.get_by_role("button", name="Sign in").click()
    await expect(first.locator("#conn")).to_have_attribute("data-status", "open")
    await expect(second.locator("#signin-error")).to_contain_text("another desktop")
    assert console.errors == [], "\n".join(console.errors)
    for ctx in (first_ctx, second_ctx):
        await ctx.close()
