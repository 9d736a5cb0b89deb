"""Supervision on the pages: the wallboard opens a live chat from its list of live work and shows
its messages as they arrive; a whisper from the wallboard appears on the agent's desktop apart from
the conversation; a barge is marked as the supervisor's on the desktop and the board; the board offers
the week's review sample; the desktop shows the agent's quality review score."""

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
name = "Customer support"
channels = ["chat", "email"]
offer_timeout_seconds = 120
wrapup_seconds = 0

[[agents]]
id = "alice"
name = "Alice Martin"
capacity = { chat = 3, email = 5 }
"""


async def test_the_wallboard_follows_a_live_chat_and_whispers_to_the_agents_desktop(
    make_server: Any, browser: Browser, console: Console
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    adapter = await server.token("adapter")
    supervisor = await server.token("supervisor")

    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        # ---- the agent's desktop takes a chat
        desk_ctx, desk = await new_page(browser, console, "desktop")
        await sign_in(desk, server.url, "alice", await server.token("agent", agent_id="alice"))
        await desk.get_by_role("radio", name="Available").click()
        chat = await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "chat",
                "external_id": "ana-1",
                "from": {"kind": "chat_visitor", "value": "visitor-ana"},
                "queue": "support",
                "customer": {"name": "Ana Lima"},
                "content": "Hi! My parcel is late.",
            },
        )
        offer = desk.get_by_role("article").filter(has_text="Ana Lima")
        await offer.get_by_role("button", name="Accept").click()
        await expect(desk.get_by_role("tab", name="Ana Lima")).to_have_attribute("aria-selected", "true")

        # ---- the wallboard lists it and opens it
        board_ctx, board = await new_page(browser, console, "wallboard")
        await board.goto(f"{server.url}/wallboard/#token={supervisor}")
        await expect(board.locator("#conn")).to_have_attribute("data-status", "open")
        await board.get_by_text("Live work: watch, whisper, barge, take over").click()
        row = board.locator(f'.live-row[data-interaction-id="{chat["id"]}"]')
        await expect(row).to_contain_text("Ana Lima")
        await expect(row).to_contain_text("Alice Martin")
        await row.get_by_role("button", name="Open").click()
        live = board.get_by_role("log", name="Live conversation")
        await expect(live.locator(".watch-msg")).to_have_count(1)
        await expect(live.locator(".watch-msg")).to_contain_text("Customer: Hi! My parcel is late.")
        await expect(board.locator(".watch-status")).to_contain_text("Watching live")

        # ---- messages of both sides appear as they arrive
        await api.post(adapter, f"/v1/interactions/{chat['id']}/messages", {"body": "Any news?"})
        await expect(live.locator(".watch-msg.in").last).to_contain_text("Customer: Any news?")
        reply = panel(desk).get_by_label("Reply to the customer")
        await reply.fill("Let me check.")
        await reply.press("Enter")
        await expect(live.locator(".watch-msg.out").last).to_contain_text("alice: Let me check.")

        # ---- a whisper reaches the desktop, apart from the conversation
        await board.get_by_label("Message").fill("Offer the 10 % voucher")
        await board.get_by_role("button", name="Whisper to the agent").click()
        coaching = panel(desk).get_by_role("log", name="Coaching from your supervisor")
        await expect(coaching).to_contain_text("Offer the 10 % voucher")
        transcript = panel(desk).get_by_role("log", name="Chat conversation")
        await expect(transcript).not_to_contain_text("voucher")
        await expect(board.locator(".watch-status")).to_have_text("Whispered to the agent only.")

        # ---- a barge goes to the customer, marked as the supervisor's on the desktop and the board
        await board.get_by_label("Message").fill("Hello Ana, I am the team lead.")
        await board.get_by_role("button", name="Barge in (to the customer)").click()
        barged = transcript.locator(".msg.from-supervisor")
        await expect(barged).to_contain_text("Hello Ana, I am the team lead.")
        await expect(barged.locator(".supervisor-badge")).to_have_text("Supervisor")
        await expect(live.locator(".watch-msg.from-supervisor")).to_contain_text(
            "Supervisor: Hello Ana, I am the team lead."
        )
        status, view = await server.request("GET", f"/v1/interactions/{chat['id']}", role="supervisor")
        assert status == 200
        assert [m["body"] for m in view["messages"]][-1] == "Hello Ana, I am the team lead."

        # ---- the review sample is offered on the board
        await board.get_by_text("Review sample of this week").click()
        await expect(board.locator(".sample [role=status]")).to_contain_text("Week ")

        # ---- the agent completes it; a supervisor reviews it; the desktop shows the score
        await panel(desk).get_by_role("button", name="Complete…").click()
        await desk.get_by_role("dialog").get_by_role("button", name="Complete and start wrap-up").click()
        await expect(desk.get_by_role("tab", name="Ana Lima")).to_have_count(0)
        status, _ = await server.request(
            "PUT",
            "/v1/quality/forms/chat-standard",
            {
                "name": "Chat standard",
                "questions": [
                    {"id": "greeting", "text": "Greeted the customer", "weight": 3, "scale": 5},
                    {"id": "resolution", "text": "Solved it", "weight": 1, "scale": 4},
                ],
            },
            token=server.admin_token,
        )
        assert status == 201
        status, review = await server.request(
            "POST",
            f"/v1/interactions/{chat['id']}/reviews",
            {"form_id": "chat-standard", "answers": {"greeting": 5, "resolution": 2}, "comment": "Good save"},
            role="supervisor",
        )
        assert status == 201 and review["score"] == 87.5, review
        await desk.get_by_role("button", name="Reviews").click()
        reviews = desk.get_by_role("dialog", name="Your quality reviews")
        await expect(reviews.locator(".review")).to_have_count(1)
        await expect(reviews.locator(".review-score")).to_have_text("88 / 100")
        await expect(reviews).to_contain_text("Good save")
        await reviews.get_by_role("button", name="Close").click()

        assert console.errors == [], console.errors
        await board_ctx.close()
        await desk_ctx.close()


TWO_DESKS = """
[[queues]]
id = "support"
name = "Customer support"
channels = ["chat", "email"]
offer_timeout_seconds = 120
wrapup_seconds = 0

[[agents]]
id = "ann"
name = "Ann Chat"
capacity = { chat = 2, email = 0 }

[[agents]]
id = "ben"
name = "Ben Mail"
capacity = { chat = 0, email = 2 }
"""


async def test_both_desktops_warn_when_two_agents_answer_one_customer(
    make_server: Any, browser: Browser, console: Console
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(TWO_DESKS)
    adapter = await server.token("adapter")
    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        ann_ctx, ann = await new_page(browser, console, "desktop ann")
        await sign_in(ann, server.url, "ann", await server.token("agent", agent_id="ann"))
        await ann.get_by_role("radio", name="Available").click()
        ben_ctx, ben = await new_page(browser, console, "desktop ben")
        await sign_in(ben, server.url, "ben", await server.token("agent", agent_id="ben"))
        await ben.get_by_role("radio", name="Available").click()

        chat = await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "chat",
                "external_id": "lee-chat",
                "from": {"kind": "chat_visitor", "value": "visitor-lee"},
                "queue": "support",
                "customer": {"name": "Lee Park", "email": "lee@example.com", "verified": True},
                "content": "Where is my parcel?",
            },
        )
        await (
            ann.get_by_role("article")
            .filter(has_text="Lee Park")
            .get_by_role("button", name="Accept")
            .click()
        )
        await expect(ann.get_by_role("tab", name="Lee Park")).to_have_attribute("aria-selected", "true")
        await expect(panel(ann).locator(".collision-warning")).to_have_count(0)

        await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "email",
                "external_id": "lee-mail",
                "from": {"kind": "email", "value": "lee@example.com"},
                "queue": "support",
                "subject": "Parcel",
                "content": "Where is my parcel? (also asked in the chat)",
            },
        )
        # the second agent is warned on the offer, then on the work, linked to the chat
        card = ben.get_by_role("article").filter(has_text="Lee Park")
        await expect(card.get_by_role("alert")).to_contain_text("Another agent is answering this customer")
        await expect(card.get_by_role("link", name="Chat with ann")).to_be_visible()
        await card.get_by_role("button", name="Accept").click()
        warning = panel(ben).locator(".collision-warning")
        await expect(warning).to_contain_text("Chat with ann")
        await expect(warning.get_by_role("link")).to_have_attribute("data-interaction-id", chat["id"])
        # the first agent is told on the work already held
        other = panel(ann).locator(".collision-warning")
        await expect(other).to_contain_text("E-mail with ben")
        assert console.errors == [], console.errors
        await ann_ctx.close()
        await ben_ctx.close()
