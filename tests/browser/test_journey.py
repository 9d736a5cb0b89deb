"""The headline journey in real Chromium, against a real server (PostgreSQL, Redis, sockets).

A customer calls; agent A takes the call in one browser, writes a note and completes it. The same
customer then writes on WhatsApp; agent A escalates the chat to tier 2 with a note; agent B, in a
second browser, accepts it and the context panel shows A's note from the call. The supervisor
wallboard is open throughout and shows the waiting counts rise and fall.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from .conftest import Console, new_page
from .pages import Api, panel, sign_in, waiting

pytestmark = pytest.mark.browser

TIMEZONE = "Europe/Paris"

CONFIG = """
[[queues]]
id = "support"
name = "Customer support"
skills = { billing = 1 }
channels = ["voice", "chat", "email"]
offer_timeout_seconds = 120
wrapup_seconds = 60

[[queues]]
id = "tier2"
name = "Tier 2"
skills = { tier2 = 1 }
channels = ["voice", "chat", "email"]
offer_timeout_seconds = 120
wrapup_seconds = 60

[adapters.whatsapp]
channel = "chat"
outbound_url = "{gateway}/outbound"

[[agents]]
id = "alice"
name = "Alice Martin"
skills = { billing = 5 }

[[agents]]
id = "bob"
name = "Bob Chen"
skills = { tier2 = 5 }
"""

CUSTOMER_NAME = "Dana <b>Scully</b>"  # markup a customer typed must show as text
PHONE = "+15550100200"
CALL_NOTE = "Charged twice for March; promised a refund of the second charge within 5 days."
CALL_SUMMARY = "Double charge confirmed, refund promised."
TRANSFER_NOTE = "Customer asks where the refund promised on this morning's call is."


class WhatsAppGateway:
    """The far side of an external WhatsApp adapter process, on loopback.

    It takes the router's ``OutboundMessage`` posts as an adapter host does (202), keeps what the
    customer would receive, and reports delivery back through the public receipts API, so the
    desktop shows a reply's real delivery state.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.router_url = ""
        self.token = ""
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/outbound", self._outbound)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for task in list(self._tasks):
            await task
        if self._runner is not None:
            await self._runner.cleanup()

    async def _outbound(self, request: web.Request) -> web.Response:
        message = await request.json()
        self.received.append(message)
        task = asyncio.create_task(self._deliver(message["message_id"]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({"status": "accepted"}, status=202)

    async def _deliver(self, message_id: str) -> None:
        external_id = f"wamid.out-{next(self._ids)}"
        async with aiohttp.ClientSession() as http:
            for status in ("sent", "delivered"):
                async with http.post(
                    f"{self.router_url}/v1/messages/{message_id}/status",
                    json={"external_id": external_id, "status": status},
                    headers={"Authorization": f"Bearer {self.token}"},
                ) as r:
                    assert r.status < 300, await r.text()


async def test_call_then_escalated_chat_reaches_agent_b_with_the_call_note(
    make_server: Any, browser: Browser, console: Console, screenshots: Any
) -> None:
    expect.set_options(timeout=15_000)
    gateway = WhatsAppGateway()
    await gateway.start()
    server = await make_server(CONFIG.replace("{gateway}", gateway.url))
    url = server.url
    adapter = await server.token("adapter")
    gateway.router_url, gateway.token = url, adapter
    supervisor = await server.token("supervisor")
    alice_token = await server.token("agent", agent_id="alice")
    bob_token = await server.token("agent", agent_id="bob")

    async with aiohttp.ClientSession() as http:
        api = Api(http, url)

        # ---- the wallboard, open throughout (a large screen)
        board_ctx, board = await new_page(browser, console, "wallboard", 1920, 1080)
        await board.goto(f"{url}/wallboard/#token={supervisor}")
        await expect(board.locator("#conn")).to_have_attribute("data-status", "open")
        await expect(waiting(board, "support")).to_have_text("0")
        await expect(waiting(board, "tier2")).to_have_text("0")
        assert "token" not in board.url, "the token leaves the address bar"
        await expect(board.locator('tr[data-agent="alice"]')).to_contain_text("Alice Martin")
        await expect(board.locator('tr[data-agent="bob"]')).to_contain_text("Bob Chen")
        board_requests: list[str] = []  # after loading, the wallboard must not poll
        board.on("request", lambda r: board_requests.append(r.url))

        # ---- agent A signs in (away: nothing is offered yet)
        a_ctx, a = await new_page(browser, console, "desktop A")
        await sign_in(a, url, "alice", alice_token)
        await expect(board.locator('tr[data-agent="alice"]')).to_contain_text("Away")

        # ---- a customer calls; the IVR collected intent and verification
        call = await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "voice",
                "external_id": "CA-browser-1",
                "from": {"kind": "phone", "value": PHONE},
                "customer": {"name": CUSTOMER_NAME},
                "queue": "support",
                "attributes": {"intent": "billing", "verified": True, "account": "A-778"},
            },
        )
        customer_id = call["customer_id"]
        await api.post(
            adapter,
            f"/v1/customers/{customer_id}/events",
            {
                "type": "page_view",
                "data": {"url": "https://shop.example.com/help/refunds", "title": "Refunds and returns"},
            },
        )
        await expect(waiting(board, "support")).to_have_text("1")  # rises

        # ---- A becomes available: the offer card says what, who, where from and why
        await a.get_by_role("radio", name="Available").click()
        offer = a.get_by_role("article").filter(has_text="Incoming call")
        await expect(offer).to_be_visible()
        await expect(offer).to_contain_text(CUSTOMER_NAME)
        await expect(offer).to_contain_text("support")
        await expect(offer).to_contain_text("billing ≥ 1")
        await expect(offer).to_contain_text("Intent: billing")
        # the short form of the router's why: the queue's strategy and how many agents it weighed
        await expect(offer.locator(".offer-why")).to_contain_text("longest idle")
        await expect(offer.locator(".offer-why")).to_contain_text(re.compile(r"1 of \d+ agents?"))
        await expect(offer.locator(".offer-left")).to_contain_text("left")
        await a.keyboard.press("Alt+a")  # accept from the keyboard

        await expect(offer).to_have_count(0)
        await expect(a.get_by_role("tab", name=CUSTOMER_NAME)).to_have_attribute("aria-selected", "true")
        await expect(panel(a).locator(".call-timer")).to_be_visible()
        await expect(waiting(board, "support")).to_have_text("0")  # falls
        await expect(board.locator('tr[data-agent="alice"] .load.channel-voice')).to_contain_text("1/1")

        # the note field has focus after accepting a call: type and add with Ctrl+Enter
        await a.keyboard.type(CALL_NOTE)
        await a.keyboard.press("Control+Enter")
        await expect(panel(a).locator(".notes-list")).to_contain_text(CALL_NOTE)

        # the context panel already shows what the IVR collected and the pages visited
        context_a = panel(a).get_by_role("complementary", name="Customer context")
        await expect(context_a).to_contain_text("Verified")
        await expect(context_a).to_contain_text("Refunds and returns")

        # ---- complete with a disposition and summary; wrap-up counts down
        await panel(a).get_by_role("button", name="Complete…").click()
        dialog = a.get_by_role("dialog")
        await dialog.get_by_label("Disposition code").fill("refund_promised")
        await dialog.get_by_label("Summary").fill(CALL_SUMMARY)
        await dialog.get_by_role("button", name="Complete and start wrap-up").click()
        await expect(dialog).to_be_hidden()
        await expect(panel(a).locator(".work-banner")).to_contain_text("Wrap-up ends in")
        await expect(a.get_by_role("tab", name=CUSTOMER_NAME)).to_contain_text("wrap-up")
        await a.screenshot(path=str(screenshots / "desktop-wrapup.png"), animations="disabled")
        await panel(a).get_by_role("button", name="End wrap-up").click()
        await expect(a.get_by_role("tab")).to_have_count(0)
        await expect(a.locator("#empty")).to_be_visible()

        # ---- the same customer writes on WhatsApp, from the same number
        chat = await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "chat",
                "external_id": "wamid.browser-1",
                "from": {"kind": "whatsapp", "value": PHONE.lstrip("+")},
                "queue": "support",
                "content": "Hi, any news on my refund?",
            },
        )
        assert chat["customer_id"] == customer_id, "the WhatsApp number resolves to the caller"
        offer = a.get_by_role("article").filter(has_text="New chat")
        await expect(offer).to_contain_text("1 earlier contact")
        await a.screenshot(path=str(screenshots / "desktop-offer.png"), animations="disabled")
        await offer.get_by_role("button", name="Accept").click()
        chat_panel = panel(a)
        await expect(chat_panel.get_by_role("log")).to_contain_text("Hi, any news on my refund?")
        await expect(chat_panel.locator(".context")).to_contain_text(CALL_NOTE)

        # A answers with Enter, then escalates to tier 2 with a note
        await chat_panel.get_by_label("Reply to the customer").fill("Let me pass you to our refunds team.")
        await chat_panel.get_by_label("Reply to the customer").press("Enter")
        await expect(chat_panel.get_by_role("log")).to_contain_text("Let me pass you to our refunds team.")
        await expect(chat_panel.get_by_role("log").locator(".msg.out").last).to_contain_text("delivered")
        await chat_panel.get_by_role("button", name="Transfer…").click()
        dialog = a.get_by_role("dialog")
        await dialog.get_by_label("To queue").select_option("tier2")
        await dialog.get_by_label("Note for the next agent").fill(TRANSFER_NOTE)
        await dialog.get_by_role("button", name="Transfer", exact=True).click()
        await expect(dialog).to_be_hidden()
        await expect(a.get_by_role("tab")).to_have_count(0)
        await expect(waiting(board, "tier2")).to_have_text("1")  # rises again

        # ---- agent B, in a second browser, takes the escalated chat
        b_ctx, b = await new_page(browser, console, "desktop B")
        await sign_in(b, url, "bob", bob_token)
        await b.get_by_role("radio", name="Available").click()
        offer = b.get_by_role("article").filter(has_text="New chat")
        await expect(offer).to_contain_text("tier2")
        await expect(offer).to_contain_text("tier2 ≥ 1")
        await offer.get_by_role("button", name="Accept").click()
        await expect(waiting(board, "tier2")).to_have_text("0")  # and falls

        b_panel = panel(b)
        context_b = b_panel.get_by_role("complementary", name="Customer context")
        # the earlier call, with A's note and summary, is in B's context panel: nobody asks again;
        # the latest notes are at the top, in view without scrolling
        highlights = context_b.locator(".ctx-highlights")
        await expect(highlights).to_contain_text(CALL_NOTE)
        await expect(highlights).to_contain_text(TRANSFER_NOTE)
        await expect(highlights.get_by_text(CALL_NOTE)).to_be_in_viewport()
        call_entry = context_b.locator('.tl-interaction[data-channel="voice"]')
        await expect(call_entry).to_contain_text(CALL_NOTE)
        await expect(call_entry).to_contain_text(CALL_SUMMARY)
        await expect(call_entry).to_contain_text("refund_promised")
        await expect(call_entry).to_contain_text("alice")
        await expect(b_panel).to_contain_text(TRANSFER_NOTE)
        await expect(context_b).to_contain_text("Refunds and returns")
        await expect(context_b.locator(".identity-list")).to_contain_text(PHONE)
        # the journey is newest first: the earlier chat comes before the call
        channels = await context_b.locator(".tl-interaction").evaluate_all(
            "els => els.map(e => e.dataset.channel)"
        )
        assert channels.index("chat") < channels.index("voice"), channels

        # customer-provided text is shown as text, never as markup
        await expect(context_b.locator(".ctx-name")).to_have_text(CUSTOMER_NAME)
        assert await b.locator(".ctx-name b, .tab-name b, .work-title b").count() == 0

        # times are shown in the browser's time zone (the server speaks UTC)
        note_time = call_entry.locator(".note-by time").first
        stamp = await note_time.get_attribute("datetime")
        assert stamp is not None
        local = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(ZoneInfo(TIMEZONE))
        await expect(note_time).to_contain_text(local.strftime("%H:%M"))

        # B answers the customer
        await b_panel.get_by_label("Reply to the customer").fill("Hello Dana, I am checking the refund now.")
        await b_panel.get_by_label("Reply to the customer").press("Enter")
        await expect(b_panel.get_by_role("log")).to_contain_text("I am checking the refund now.")
        await expect(b_panel.get_by_role("log").locator(".msg.out").last).to_contain_text("delivered")
        # the conversation so far reads from the start: the customer's first message and A's reply
        await expect(b_panel.get_by_role("log")).to_contain_text("Hi, any news on my refund?")
        await expect(b_panel.get_by_role("log")).to_contain_text("Let me pass you to our refunds team.")
        assert [m["body"] for m in gateway.received] == [
            "Let me pass you to our refunds team.",
            "Hello Dana, I am checking the refund now.",
        ]
        assert {m["to"]["kind"] for m in gateway.received} == {"whatsapp"}
        await expect(board.locator('tr[data-agent="bob"] .load.channel-chat')).to_contain_text("1/")

        # the chart of waiting over 15 minutes went up to 1 and back
        chart = board.locator('[data-queue="tier2"] svg.chart')
        await expect(chart).to_have_attribute("aria-label", re.compile(r"now 0, lowest 0, highest 1\b"))
        assert board_requests == [], f"the wallboard polled: {board_requests}"

        # ---- screenshots of every page, as they are at the end
        await board.screenshot(path=str(screenshots / "wallboard.png"), animations="disabled")
        await a.screenshot(path=str(screenshots / "desktop-agent-a.png"), animations="disabled")
        await b.screenshot(path=str(screenshots / "desktop-agent-b.png"), animations="disabled")
        # (they stay under artifacts/; scripts/refresh-screenshots.sh copies them into docs/ on purpose)

        assert console.errors == [], "\n".join(console.errors)
        for ctx in (a_ctx, b_ctx, board_ctx):
            await ctx.close()
    await gateway.stop()
