"""Browser tests: the storefront and the coordinator's HTML dashboard in Debian's Chromium (``apt-get install
chromium``), driven by Playwright with the system browser (no browser download), against the real stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect, sync_playwright

from plumbing.settings import service_url

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DOCS_IMAGES = ROOT / "docs" / "images"
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
DESKTOP = ViewportSize(width=1360, height=900)
PHONE = ViewportSize(width=390, height=844)
PAGE_TIMEOUT_MS = 15_000
"""How long an action or an ``expect`` waits: a page that calls the services may take seconds on a busy machine
(Playwright's ``expect`` would give up after 5 s)."""

expect.set_options(timeout=PAGE_TIMEOUT_MS)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--docs-screenshots",
        action="store_true",
        help="also write the storefront's screenshots to docs/images/ (else only to tests/artifacts/)",
    )


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
    context = browser.new_context(base_url=service_url("coordinator"), viewport=DESKTOP)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def gateway_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Opens pages on the gateway, as people reach the shop: each in a context of its own (its own session
    cookie), desktop-sized unless given another ``viewport``."""
    contexts: list[BrowserContext] = []

    def open_page(viewport: ViewportSize = DESKTOP) -> Page:
        context = browser.new_context(base_url=service_url("gateway"), viewport=viewport)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """Saves what a page shows (its viewport) as ``<name>.png`` in tests/artifacts/, and in docs/images/ with
    ``--docs-screenshots``."""
    folders = [ARTIFACTS, DOCS_IMAGES] if request.config.getoption("--docs-screenshots") else [ARTIFACTS]

    def save(page: Page, name: str) -> None:
        image = page.screenshot(animations="disabled", caret="hide")
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.png").write_bytes(image)

    return save
