"""The operators' pages, reached as operators reach them (logged in at the gateway), checked with axe-core."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from plumbing.demo_logins import demo_login
from tests.browser.accessibility import assert_accessible
from tests.browser.storefront import log_in


def test_every_page_the_dashboard_links_to_has_no_serious_accessibility_violation(
    gateway_page: Callable[..., Page],
) -> None:
    page = gateway_page()
    log_in(page, demo_login("operator"), next_path="/dashboard")
    assert_accessible(page, "the dashboard")
    links = page.get_by_role("banner").get_by_role("navigation").get_by_role("link")
    expect(links.first).to_be_visible()
    targets = {link.inner_text(): link.get_attribute("href") or "" for link in links.all()}
    assert all(href.startswith("/dashboard/") for href in targets.values()), targets
    for name, href in targets.items():
        response = page.goto(href)
        assert response is not None and response.status == 200, (name, href)
        assert_accessible(page, f"the dashboard's {name!r} page")
