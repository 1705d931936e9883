"""The storefront as customers use it, through the gateway, in Chromium: logging in, searching, a cart of two
games paid with an approving card, a declined card and what the operator then sees of that order's saga, and
a phone-sized screen. Every page is checked with axe-core on the way (no serious or critical violation)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from plumbing.demo_logins import demo_login
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import PHONE
from tests.browser.storefront import (
    cart_link,
    check_out,
    empty_cart,
    expect_cart_count,
    expect_titles,
    game,
    horizontal_overflow,
    log_in,
    place_order,
    search,
    verdict,
)
from tests.support import api, stock, wait_for

CUSTOMER = demo_login("customer")
OPERATOR = demo_login("operator")
Screenshot = Callable[[Page, str], None]


def _products() -> dict[str, dict[str, Any]]:
    """The catalogue by title, from catalog's own API."""
    return {p["title"]: p for p in api("catalog").get("/products").json()}


def _sku(title: str) -> str:
    sku: str = _products()[title]["sku"]
    return sku


def _order(order_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = api("orders").get(f"/orders/{order_id}").json()
    return answer


def test_a_failed_login_says_so_and_keeps_the_username(gateway_page: Callable[..., Page]) -> None:
    page = gateway_page()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_accessible(page, "the login page")
    page.get_by_label("Username").fill(CUSTOMER.username)
    page.get_by_label("Password").fill("not-" + CUSTOMER.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value(CUSTOMER.username)
    expect(page.get_by_role("banner").get_by_role("link", name="Log in")).to_be_visible()
    assert_accessible(page, "the login page with its error")


def test_a_page_needing_a_login_sends_there_and_back(gateway_page: Callable[..., Page]) -> None:
    page = gateway_page()
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)orders$"))
    log_in(page, CUSTOMER, next_path="/orders")
    expect(page.get_by_role("heading", level=1)).to_have_text("My orders")
    assert_accessible(page, "my orders")


def _two_games_in_the_cart(page: Page, screenshot: Screenshot) -> dict[str, int]:
    """Find the Nintendo 64 games with "mario" in their title (exactly two), add one from the results and two of
    the other from its product page; how many of each sku the cart holds."""
    products = _products()
    mario = sorted(t for t, p in products.items() if "mario" in t.lower() and p["platform"] == "Nintendo 64")
    assert len(mario) == 2, mario
    first, second = mario
    search(page, "maRIO", "Nintendo 64")
    expect_titles(page, mario)
    game(page, first).get_by_role("button", name="Add to cart").click()
    expect_cart_count(page, 1)

    page.get_by_role("banner").get_by_role("link", name="Games").click()
    search(page, "Mario", "Nintendo 64")
    expect_titles(page, mario)
    game(page, second).get_by_role("link", name=second).click()
    expect(page).to_have_url(re.compile(f"/products/{products[second]['sku']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(second)
    expect(page.get_by_role("img", name=f"Cover art for {second}")).to_be_visible()
    assert_accessible(page, "a product page")
    screenshot(page, "storefront-product")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect_cart_count(page, 3)
    return {products[first]["sku"]: 1, products[second]["sku"]: 2}


def test_a_customer_buys_two_games_and_sees_the_order_approved(
    gateway_page: Callable[..., Page], screenshot: Screenshot
) -> None:
    page = gateway_page()
    log_in(page, CUSTOMER)
    expect(page.get_by_role("banner").get_by_role("button", name="Log out")).to_be_visible()
    empty_cart(page)
    page.goto("/")
    assert_accessible(page, "the catalogue")
    screenshot(page, "storefront-catalogue")
    products = {p["sku"]: p for p in _products().values()}

    cart = _two_games_in_the_cart(page, screenshot)
    cart_link(page).click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    for sku in cart:
        expect(page.get_by_role("button", name=f"Remove {products[sku]['title']}")).to_be_visible()
    total_cents = sum(products[sku]["price_cents"] * quantity for sku, quantity in cart.items())
    expect(page.get_by_role("main")).to_contain_text(f"{total_cents // 100}.{total_cents % 100:02d}")
    assert_accessible(page, "the cart")
    screenshot(page, "storefront-cart")

    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("group", name="Test card").get_by_label("Approved", exact=True)).to_be_visible()
    assert_accessible(page, "the checkout")
    screenshot(page, "storefront-checkout")
    order_id = place_order(page, "Approved")
    assert "APPROVED" in verdict(page)
    assert_accessible(page, "the order page")
    screenshot(page, "storefront-order-approved")

    order = _order(order_id)
    assert (order["customer_id"], order["status"], order["total_cents"]) == (CUSTOMER.username, "APPROVED", total_cents)
    assert {line["sku"]: line["quantity"] for line in order["items"]} == cart
    assert {sku: stock(sku) for sku in cart} == {sku: products[sku]["stock"] - n for sku, n in cart.items()}

    page.get_by_role("banner").get_by_role("link", name="My orders").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=order_id))
    expect(row).to_contain_text("APPROVED")
    assert_accessible(page, "my orders")


def test_a_declined_card_rejects_the_order_and_an_operator_reads_its_compensation(
    gateway_page: Callable[..., Page],
) -> None:
    customer = gateway_page()
    log_in(customer, CUSTOMER)
    empty_cart(customer)
    customer.goto("/")
    title = "Super Mario World"
    sku = _sku(title)
    before = stock(sku)
    search(customer, title)
    expect_titles(customer, [title])
    game(customer, title).get_by_role("button", name="Add to cart").click()
    expect_cart_count(customer, 1)
    order_id = check_out(customer, "Declined")
    shown = verdict(customer)
    order = _order(order_id)
    assert (order["status"], order["customer_id"]) == ("REJECTED", CUSTOMER.username)
    assert "REJECTED" in shown and str(order["reason"]) in shown, (shown, order)
    assert_accessible(customer, "a rejected order's page")
    wait_for(lambda: stock(sku) == before, what=f"{sku}'s reserved unit to be released")

    operator = gateway_page()
    log_in(operator, OPERATOR, next_path="/dashboard")
    assert_accessible(operator, "the dashboard")
    operator.get_by_label("Order id").fill(order_id)
    operator.get_by_role("button", name="Apply").click()
    rows = operator.locator("#sagas tbody tr[data-saga-id]")
    expect(rows).to_have_count(1)
    expect(rows.locator("[data-state]")).to_have_text("COMPENSATED")
    saga_id = rows.get_attribute("data-saga-id") or ""
    rows.get_by_role("link", name=saga_id[:8]).click()
    expect(operator).to_have_url(re.compile(f"/dashboard/sagas/{saga_id}$"))
    expect(operator.locator('[data-field="failure"]')).to_contain_text("declined")
    compensation = operator.locator("#compensation")
    expect(compensation.locator("[data-compensation]")).to_have_text("2 of 2 confirmed")
    for action in ("release_stock", "reject_order"):
        expect(compensation.locator(f'li[data-action="{action}"]')).to_have_attribute("data-status", "done")
    assert_accessible(operator, "a compensated saga's page")


def test_on_a_phone_the_catalogue_and_checkout_fit_the_screen(gateway_page: Callable[..., Page]) -> None:
    page = gateway_page(PHONE)
    log_in(page, CUSTOMER)
    empty_cart(page)
    page.goto("/")
    assert horizontal_overflow(page) == 0
    assert_accessible(page, "the catalogue on a phone")
    title = "Tetris"
    search(page, title)
    expect_titles(page, [title])
    game(page, title).get_by_role("button", name="Add to cart").click()
    expect_cart_count(page, 1)
    cart_link(page).click()
    assert horizontal_overflow(page) == 0
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("button", name="Place order")).to_be_visible()
    assert horizontal_overflow(page) == 0
    assert_accessible(page, "the checkout on a phone")
