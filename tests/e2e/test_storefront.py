"""The storefront through the gateway, as a browser uses it (httpx with cookies, no JavaScript): log in,
search, two games in the cart, one order approved and one declined with its reason, "My orders", someone
else's order, and a cross-site change refused."""

from __future__ import annotations

import re

import httpx

from plumbing.settings import service_url
from tests.restocking import set_available
from tests.support import wait_for

CUSTOMER = ("demo-customer", "retro-customer")
OTHER_CUSTOMER = ("demo-customer-2", "retro-customer-2")


def browser(login: tuple[str, str]) -> httpx.Client:
    """A logged-in browser: it keeps cookies, follows redirects and sends its pages' Origin, as forms do."""
    base = service_url("gateway")
    client = httpx.Client(base_url=base, timeout=10.0, follow_redirects=True, headers={"Origin": base})
    page = client.post("/login", data={"username": login[0], "password": login[1]})
    assert (page.status_code, str(page.url)) == (200, f"{base}/"), page.text
    assert "rv_session" in client.cookies
    return client


def add(client: httpx.Client, sku: str) -> None:
    cart = client.post("/cart", data={"sku": sku, "quantity": "1"})
    assert cart.status_code == 200 and f'href="/products/{sku}"' in cart.text, cart.text


def check_out(client: httpx.Client, card: str) -> str:
    form = client.get("/checkout").text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    assert key is not None, form
    page = client.post("/checkout", data={"idempotency_key": key[1], "card": card})
    found = re.fullmatch(r".*/orders/([0-9a-f-]{36})", str(page.url))
    assert page.status_code == 200 and found is not None, page.text
    return found[1]


def final_status(client: httpx.Client, order_id: str) -> str:
    def decided() -> str | None:
        status = re.search(
            r'role="status"[^>]*>\s*<p id="order-status"[^>]*>(.*?)</p>', client.get(f"/orders/{order_id}").text, re.S
        )
        assert status is not None
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", status[1])).strip()
        return None if "PENDING" in text else text

    return wait_for(decided, timeout_s=60, what=f"order {order_id}'s page to show its outcome")


def my_orders(client: httpx.Client) -> list[str]:
    return re.findall(r'<a href="/orders/([0-9a-f-]{36})">', client.get("/orders").text)


def test_a_customer_shops_in_the_storefront() -> None:
    set_available("SNES-SMW", 40)
    set_available("SNES-CHRONO", 40)
    shopper = browser(CUSTOMER)
    before = my_orders(shopper)
    found = shopper.get("/", params={"q": "super MARIO world", "platform": "SNES"}).text
    assert re.findall(r'<h2><a href="/products/([^"]+)">', found) == ["SNES-SMW"]
    add(shopper, "SNES-SMW")
    add(shopper, "SNES-CHRONO")
    approved = check_out(shopper, "approved")
    assert final_status(shopper, approved) == "Status: APPROVED"
    assert "Your cart is empty" in shopper.get("/cart").text

    add(shopper, "SNES-SMW")
    declined = check_out(shopper, "declined")
    assert final_status(shopper, declined) == "Status: REJECTED — payment declined: Your card was declined."
    assert my_orders(shopper) == [declined, approved, *before]

    other = browser(OTHER_CUSTOMER)
    assert other.get(f"/orders/{approved}").status_code == 404
    assert approved not in my_orders(other)

    cross_site = shopper.post("/cart", data={"sku": "SNES-SMW"}, headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403 and cross_site.headers["content-type"] == "application/problem+json"
    api = shopper.post(
        "/api/orders", json={"items": [], "payment_method": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert api.status_code == 403
    assert shopper.post("/logout").status_code == 200 and "rv_session" not in shopper.cookies
    assert str(shopper.get("/orders").url).endswith("/login?next=%2Forders")
