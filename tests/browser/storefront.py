"""What a person does in the storefront, by the names the page contract gives (docs/gateway.md, the storefront):
log in, search, add to the cart, check out with a test card, wait for the order's verdict."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from plumbing.demo_logins import DemoLogin

FINAL = re.compile(r"\b(APPROVED|REJECTED)\b")
ORDER_URL = re.compile(r"/orders/([0-9a-f-]{36})$")


def log_in(page: Page, login: DemoLogin, next_path: str = "/") -> None:
    """Log in through the login page, which sends the browser on to ``next_path``."""
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Username").fill(login.username)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + r"(\?.*)?$"))


def search(page: Page, text: str, platform: str = "All platforms") -> None:
    """Search the catalogue for ``text`` on ``platform`` (see :func:`expect_titles` for what it found)."""
    form = page.get_by_role("search")
    form.get_by_label("Search").fill(text)
    form.get_by_label("Platform").select_option(label=platform)
    form.get_by_role("button", name="Search").click()


def expect_titles(page: Page, titles: list[str]) -> None:
    """The catalogue shows exactly the games called ``titles``, in any order (once its results have updated)."""
    expect(results(page)).to_have_count(len(titles))
    for title in titles:
        expect(game(page, title)).to_have_count(1)


def results(page: Page) -> Locator:
    """The catalogue's games, one ``<article>`` each."""
    return page.get_by_role("main").get_by_role("article")


def game(page: Page, title: str) -> Locator:
    """The catalogue's ``<article>`` of the game called ``title``."""
    return results(page).filter(has=page.get_by_role("heading", name=title, exact=True))


def cart_link(page: Page) -> Locator:
    """The header's "Cart" link, whose text carries the number of items in the cart."""
    return page.get_by_role("banner").get_by_role("link", name=re.compile(r"^Cart\b"))


def expect_cart_count(page: Page, items: int) -> None:
    """The header's "Cart" link says the cart holds ``items`` items."""
    expect(cart_link(page)).to_have_text(re.compile(rf"^\s*Cart\D*\b{items}\b\D*$"))


def empty_cart(page: Page) -> None:
    """Remove whatever an earlier visit left in the cart, line by line, until it says it is empty."""
    page.goto("/cart")
    main = page.get_by_role("main")
    remove = main.get_by_role("button", name=re.compile(r"^Remove "))
    for left in range(remove.count() - 1, -1, -1):
        remove.first.click()
        expect(remove).to_have_count(left)
    expect(main).to_contain_text("Your cart is empty")
    expect_cart_count(page, 0)


def check_out(page: Page, card: str) -> str:
    """From the cart, check out with the test card labelled ``card``; the new order's id (its page is open)."""
    page.goto("/cart")
    page.get_by_role("link", name="Check out").click()
    return place_order(page, card)


def place_order(page: Page, card: str) -> str:
    """On the checkout page, pay with the test card labelled ``card``; the new order's id (its page is open)."""
    expect(page).to_have_url(re.compile(r"/checkout$"))
    page.get_by_role("group", name="Test card").get_by_label(card, exact=True).check()
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(ORDER_URL)
    match = ORDER_URL.search(page.url)
    assert match is not None, page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {match.group(1)}")
    return match.group(1)


def verdict(page: Page) -> str:
    """The order page's status once it is final (it updates itself: no reload), all of its text."""
    status = page.get_by_role("status")
    expect(status).to_have_text(FINAL, timeout=30_000)
    return status.inner_text()


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: nothing to scroll sideways)."""
    width: int = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return width
