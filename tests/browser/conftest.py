"""Browser tests: the coordinator's HTML dashboard in Debian's Chromium (``apt-get install chromium``), driven by
Playwright with the system browser (no browser download), against the real stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from plumbing.settings import service_url

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _stack(real_stack: None) -> None:
    """Every test here needs the real stack."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless system Chromium, one for the session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page whose relative URLs go to the coordinator."""
    context = browser.new_context(base_url=service_url("coordinator"), viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
