"""What the browser tests do on the pages, named once."""

from __future__ import annotations

from typing import Any

import aiohttp
from playwright.async_api import Locator, Page, expect


class Api:
    """The public HTTP API, as an adapter or an admin uses it."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url

    async def post(self, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(
            self.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
        ) as r:
            text = await r.text()
            assert r.status in (200, 201), f"{path}: {r.status} {text}"
            result: dict[str, Any] = await r.json()
            return result


async def sign_in(page: Page, url: str, agent_id: str, token: str) -> None:
    await page.goto(url + "/desktop/")
    await page.get_by_label("Agent id").fill(agent_id)
    await page.get_by_label("Token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#conn")).to_have_attribute("data-status", "open")
    await expect(page.get_by_role("radio", name="Away")).to_have_attribute("aria-checked", "true")


def waiting(board: Page, queue: str) -> Locator:
    return board.locator(f'[data-queue="{queue}"] .q-waiting')


def panel(page: Page) -> Locator:
    return page.locator('[role="tabpanel"]:not([hidden])')
