"""A real browser (Debian's chromium driven by Playwright) on the served app, and screenshots of what it saw."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.paths import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
WIDTHS = {"phone": (390, 844), "desktop": (1366, 900)}
CHROMIUM_INSTALLED = Path(CHROMIUM).exists()
# CI runs the browser, the app, PostgreSQL and the model tests on 2 shared cores: give assertions room.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_INSTALLED:
        pytest.fail("chromium is not installed: `make test` installs Debian's chromium (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, served: str) -> AsyncIterator[Page]:
    """A fresh desktop-sized tab whose relative URLs go to the served app."""
    context = await browser.new_context(base_url=served, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    tab = await context.new_page()
    yield tab
    await context.close()


async def screenshots(page: Page, name: str) -> list[Path]:
    """The current page at phone and desktop widths, kept under test-artifacts/ for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved = []
    original = page.viewport_size
    for label, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        path = SCREENSHOTS / f"{name}-{label}.png"
        await page.screenshot(path=path, full_page=True)
        saved.append(path)
    if original:
        await page.set_viewport_size(original)
    return saved


async def no_serious_violations(page: Page) -> None:
    """axe-core finds nothing serious or critical on the page as it is now."""
    results = await Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]
