"""Several pieces of work at once, from the keyboard: offers accepted and rejected with shortcuts,
work as tabs (arrow keys, Alt+PageDown), an e-mail thread with its reply editor next to a chat,
unread badges, wrap-up, the state switch, and every control labelled for screen readers."""

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
channels = ["chat", "email", "sms"]
offer_timeout_seconds = 120
wrapup_seconds = 45

[[agents]]
id = "alice"
name = "Alice Martin"
capacity = { chat = 3, email = 5 }
"""

EMAIL_BODY = "Hello,\n\nInvoice 42 shows the wrong address.\n\nRegards,\nCleo"

# Every visible form control must have a name a screen reader can read out.
UNLABELLED = """() =>
  [...document.querySelectorAll('input, textarea, select, button, [role=tab], [role=radio]')]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => {
    const byLabel = el.labels && [...el.labels].map((l) => l.textContent).join(' ').trim();
    const byContent = el.tagName === 'BUTTON' || el.getAttribute('role') ? el.textContent.trim() : '';
    return !(byLabel || el.getAttribute('aria-label') || byContent);
  })
  .map((el) => el.outerHTML.slice(0, 120))"""


async def test_several_works_as_tabs_from_the_keyboard(
    make_server: Any, browser: Browser, console: Console, screenshots: Any
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    adapter = await server.token("adapter")

    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        ctx, a = await new_page(browser, console, "desktop")
        await sign_in(a, server.url, "alice", await server.token("agent", agent_id="alice"))
        assert await a.evaluate(UNLABELLED) == []

        # the state switch is a radio group: arrows move and select
        await a.get_by_role("radio", name="Away").focus()
        await a.keyboard.press("ArrowLeft")
        await expect(a.get_by_role("radio", name="Available")).to_have_attribute("aria-checked", "true")
        await expect(a.get_by_role("radio", name="Available")).to_be_focused()
        await expect(a.locator("#state-since")).to_have_text("0:00")

        async def arrive(channel: str, ext: str, who: str, **extra: Any) -> dict[str, Any]:
            kind = {"chat": "chat_visitor", "email": "email", "sms": "phone"}[channel]
            value = {"chat": f"visitor-{ext}", "email": f"{ext}@example.com", "sms": "+15550111222"}[channel]
            body = {
                "channel": channel,
                "external_id": ext,
                "from": {"kind": kind, "value": value},
                "queue": "support",
            }
            return await api.post(adapter, "/v1/interactions", {**body, "customer": {"name": who}, **extra})

        # ---- a chat: accepted with Alt+A; focus goes to its reply box
        ana = await arrive("chat", "ana", "Ana Lima", content="Hi! Is the shop open on Sunday?")
        await expect(a.get_by_role("article").filter(has_text="Ana Lima")).to_be_visible()
        await a.keyboard.press("Alt+a")
        await expect(a.get_by_role("tab", name="Ana Lima")).to_have_attribute("aria-selected", "true")
        reply = panel(a).get_by_label("Reply to the customer")
        await expect(reply).to_be_focused()
        await a.keyboard.type("Yes, from 10 to 16.")
        await a.keyboard.press("Shift+Enter")  # a new line, not sent
        await a.keyboard.type("Anything else?")
        await a.keyboard.press("Enter")  # sent
        await expect(panel(a).get_by_role("log").locator(".msg.out .msg-body")).to_have_text(
            "Yes, from 10 to 16.\nAnything else?"
        )
        await expect(reply).to_have_value("")

        # ---- another chat: rejected with Alt+R; it goes back to the queue, not to this agent
        await arrive("chat", "ben", "Ben Okafor", content="Where is my order?")
        offer = a.get_by_role("article").filter(has_text="Ben Okafor")
        await expect(offer).to_be_visible()
        await a.keyboard.press("Alt+r")
        await expect(offer).to_have_count(0)
        status, queue = await server.request("GET", "/v1/queues/support", token=adapter)
        assert status == 200 and queue["stats"]["waiting"] == 1, queue

        # ---- an e-mail: its own work area, thread and reply editor
        attachments = [
            {
                "filename": "invoice-42.pdf",
                "content_type": "application/pdf",
                "size": 48213,
                "url": "https://files.example.com/invoice-42.pdf",
            },
            {"filename": "note.html", "content_type": "text/html", "url": "javascript:alert(1)"},
        ]
        await arrive(
            "email", "cleo", "Cleo Park", subject="Invoice 42", content=EMAIL_BODY, attachments=attachments
        )
        offer = a.get_by_role("article").filter(has_text="New e-mail")
        await expect(offer).to_contain_text("Invoice 42")
        await offer.get_by_role("button", name="Accept").click()
        email_tab = a.get_by_role("tab", name="Cleo Park")
        await expect(email_tab).to_have_attribute("aria-selected", "true")
        email = panel(a)
        await expect(email.locator(".email-subject")).to_have_text("Invoice 42")
        await expect(email.locator(".mail-body").first).to_have_text(EMAIL_BODY)
        await expect(email).to_contain_text("Re: Invoice 42")
        # attachments: a link only for a web address, anything else is just its name
        files = email.get_by_role("list", name="Attachments")
        await expect(files.get_by_role("link", name="invoice-42.pdf")).to_have_attribute(
            "href", "https://files.example.com/invoice-42.pdf"
        )
        await expect(files).to_contain_text("application/pdf, 47 KB")
        await expect(files).to_contain_text("note.html")
        await expect(files.get_by_role("link")).to_have_count(1)
        editor = email.get_by_label("Reply to the customer by e-mail")
        await editor.fill("Dear Cleo,")
        await editor.press("Enter")  # Enter is a new line in an e-mail
        await editor.press_sequentially("we have corrected the address.")
        await editor.press("Control+Enter")
        await expect(email.locator(".mail.out .mail-body")).to_have_text(
            "Dear Cleo,\nwe have corrected the address."
        )
        await expect(a.locator("#load")).to_contain_text("E-mail 1/5")
        await expect(a.locator("#load")).to_contain_text("Chat 1/3")
        await a.screenshot(path=str(screenshots / "desktop-email.png"), animations="disabled")

        # ---- the customer writes in the chat that is not on screen: an unread badge
        await api.post(adapter, f"/v1/interactions/{ana['id']}/messages", {"body": "Great, thanks!"})
        chat_tab = a.get_by_role("tab", name="Ana Lima")
        await expect(chat_tab.locator(".badge")).to_have_text("1")

        # tabs from the keyboard: arrows on the tab list, Alt+PageDown anywhere
        await email_tab.focus()
        await a.keyboard.press("ArrowLeft")
        await expect(chat_tab).to_have_attribute("aria-selected", "true")
        await expect(chat_tab).to_be_focused()
        await expect(chat_tab.locator(".badge")).to_be_hidden()
        await expect(panel(a).get_by_role("log")).to_contain_text("Great, thanks!")
        await a.keyboard.press("Alt+PageDown")
        await expect(email_tab).to_have_attribute("aria-selected", "true")

        # ---- complete the e-mail from the keyboard: the dialog, Ctrl+Enter, then wrap-up
        await panel(a).get_by_role("button", name="Complete…").click()
        dialog = a.get_by_role("dialog")
        await expect(dialog.get_by_label("Disposition code")).to_be_focused()
        await a.keyboard.type("resolved")
        await a.keyboard.press("Control+Enter")
        await expect(dialog).to_be_hidden()
        await expect(email_tab).to_contain_text("wrap-up")
        await expect(panel(a).get_by_role("button", name="End wrap-up")).to_be_visible()
        await expect(a.locator("#load")).to_contain_text("E-mail 1/5")  # capacity frees after wrap-up
        await panel(a).get_by_role("button", name="End wrap-up").click()
        await expect(email_tab).to_have_count(0)
        await expect(chat_tab).to_have_attribute("aria-selected", "true")

        # a dialog closes with Escape; the keyboard help opens with "?"
        await panel(a).get_by_role("button", name="Transfer…").click()
        await expect(a.get_by_role("dialog")).to_be_visible()
        await a.keyboard.press("Escape")
        await expect(a.get_by_role("dialog")).to_be_hidden()
        await a.keyboard.press("?")
        await expect(a.get_by_role("dialog", name="Keyboard")).to_be_visible()
        await a.keyboard.press("Escape")

        # ---- the customer leaves the chat: the agent is told, and still completes it
        await api.post(adapter, f"/v1/interactions/{ana['id']}/end", {"reason": "customer_left"})
        await expect(panel(a).locator(".work-banner")).to_contain_text("The customer left")
        await expect(panel(a).get_by_label("Reply to the customer")).to_be_disabled()
        await expect(panel(a).get_by_role("button", name="Transfer…")).to_be_hidden()
        await panel(a).get_by_role("button", name="Complete…").click()
        await a.get_by_role("dialog").get_by_label("Summary").fill("Opening hours given.")
        await a.get_by_role("dialog").get_by_role("button", name="Complete and start wrap-up").click()
        await expect(chat_tab).to_contain_text("wrap-up")

        assert await a.evaluate(UNLABELLED) == []
        assert console.errors == [], "\n".join(console.errors)
        await ctx.close()


async def test_an_sms_escalated_to_email_keeps_its_history(
    make_server: Any, browser: Browser, console: Console, screenshots: Any
) -> None:
    expect.set_options(timeout=15_000)
    server = await make_server(CONFIG)
    adapter = await server.token("adapter")
    async with aiohttp.ClientSession() as http:
        api = Api(http, server.url)
        ctx, a = await new_page(browser, console, "desktop")
        await sign_in(a, server.url, "alice", await server.token("agent", agent_id="alice"))
        await a.get_by_role("radio", name="Available").click()
        await api.post(
            adapter,
            "/v1/interactions",
            {
                "channel": "sms",
                "external_id": "SM-escalate-1",
                "from": {"kind": "phone", "value": "+15550133444"},
                "customer": {"name": "Dev Patel", "email": "dev@example.com"},
                "queue": "support",
                "content": "Can you send me the contract by e-mail?",
            },
        )
        await expect(a.get_by_role("article").filter(has_text="New SMS")).to_contain_text("Dev Patel")
        await a.keyboard.press("Alt+a")
        sms = panel(a)
        await expect(sms.get_by_role("log")).to_contain_text("Can you send me the contract by e-mail?")

        # escalate onto e-mail, in the same queue, with a note for whoever writes it
        await sms.get_by_role("button", name="Transfer…").click()
        dialog = a.get_by_role("dialog")
        await dialog.get_by_label("To queue").select_option("support")
        await dialog.get_by_label("On channel").select_option("email")
        await dialog.get_by_label("Note for the next agent").fill("Send the signed contract as PDF.")
        await dialog.get_by_role("button", name="Transfer", exact=True).click()
        await expect(dialog).to_be_hidden()

        # the e-mail comes back as new work, with the SMS conversation and the note in it
        offer = a.get_by_role("article").filter(has_text="New e-mail")
        await expect(offer).to_contain_text("Dev Patel")
        await offer.get_by_role("button", name="Accept").click()
        email = panel(a)
        await expect(email).to_have_attribute("data-channel", "email")
        await expect(email.locator(".thread")).to_contain_text("Can you send me the contract by e-mail?")
        await expect(email.locator(".thread .divider").first).to_contain_text("Earlier — SMS")
        await expect(email.locator(".ctx-highlights")).to_contain_text("Send the signed contract as PDF.")
        await expect(a.get_by_role("tab")).to_have_count(1)
        await a.screenshot(path=str(screenshots / "desktop-escalated.png"), animations="disabled")
        assert console.errors == [], "\n".join(console.errors)
        await ctx.close()
