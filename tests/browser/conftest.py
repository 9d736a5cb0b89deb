"""Browser fixtures: Debian's Chromium driven by Playwright, and a watch on every page's console."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Error, Page, async_playwright

CHROMIUM = os.environ.get("OMNIROUTE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


@dataclass
class Console:
    """Every console error and uncaught exception of the pages it watches."""

    errors: list[str] = field(default_factory=list)
    pages: list[tuple[str, Page]] = field(default_factory=list)

    def watch(self, page: Page, name: str) -> Page:
        self.pages.append((name, page))

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                self.errors.append(f"{name}: console.error: {msg.text} ({msg.location.get('url')})")

        def on_error(exc: Error) -> None:
            self.errors.append(f"{name}: uncaught: {exc}")

        page.on("console", on_console)
        page.on("pageerror", on_error)
        return page


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture
async def console(request: pytest.FixtureRequest) -> AsyncIterator[Console]:
    """The console watch; when the test fails, a screenshot of every page it opened, as it was."""
    watch = Console()
    yield watch
    if request.node.stash.get(FAILED, False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, page in watch.pages:
            if not page.is_closed():
                slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{request.node.name}-{name}").strip("-")
                await page.screenshot(path=str(SCREENSHOTS / f"failed-{slug}.png"))


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


async def new_page(
    browser: Browser, console: Console, name: str, width: int = 1366, height: int = 768
) -> tuple[BrowserContext, Page]:
    """A page in its own browser context (its own sessionStorage: one person at one screen)."""
    context = await browser.new_context(
        viewport={"width": width, "height": height}, locale="en-GB", timezone_id="Europe/Paris"
    )
    page = console.watch(await context.new_page(), name)
    return context, page
