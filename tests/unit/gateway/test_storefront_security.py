"""The storefront's defences: every change to a page must come from the site itself (with or without a session),
logins are rate-limited, the demo logins are shown only while they exist, no answer may be framed, and a cart
cookie that is not ASCII is an empty cart; the checkout lists what is being bought."""

from __future__ import annotations

import re

import pytest

from gateway.entrypoints.security_headers import SECURITY_HEADERS
from tests.unit.gateway.shop_fakes import ORIGIN, shop

EVIL = "https://evil.example"
CHANGES = [
    ("/login", {"username": "ada", "password": "ada-password"}),
    ("/logout", {}),
    ("/cart", {"sku": "SNES-SMW", "quantity": "1"}),
    ("/cart/remove", {"sku": "SNES-SMW"}),
    ("/checkout", {"idempotency_key": "k-1", "card": "approved"}),
]


@pytest.mark.parametrize(("path", "form"), CHANGES)
@pytest.mark.parametrize("origin", [EVIL, None], ids=["another site", "no Origin nor Referer"])
def test_a_change_to_a_page_from_elsewhere_is_403_without_a_session_too(
    path: str, form: dict[str, str], origin: str | None
) -> None:
    with shop() as s:
        refused = s.post(path, form, origin=origin)
        assert (refused.status_code, refused.headers["content-type"]) == (403, "application/problem+json")
        assert refused.json()["errors"] == [{"field": "Origin", "message": "must be this site"}]
        assert "set-cookie" not in refused.headers
        assert s.upstreams.sent == []


def test_a_change_from_the_sites_own_page_passes_by_origin_or_referer() -> None:
    with shop() as s:
        form = {"username": "ada", "password": "ada-password"}
        by_referer = s.client.post("/login", data=form, headers={"Referer": f"{ORIGIN}/login"}, follow_redirects=False)
        assert by_referer.status_code == 303 and by_referer.headers["set-cookie"].startswith("rv_session=")
        assert s.post("/cart", {"sku": "SNES-SMW", "quantity": "1"}).status_code == 303


def test_an_api_call_with_a_bearer_token_needs_no_origin() -> None:
    with shop() as s:
        s.log_in()
        token = s.client.cookies["rv_session"]
        s.client.cookies.clear()
        body = {"items": [{"sku": "SNES-SMW", "quantity": 1}], "payment_method": "pm_card_visa"}
        placed = s.client.post("/api/orders", json=body, headers={"Authorization": f"Bearer {token}"})
        assert placed.status_code == 202


def test_too_many_logins_are_a_429_page_with_retry_after_and_no_password_checked() -> None:
    with shop(logins=2) as s:
        for _ in range(2):
            assert s.post("/login", {"username": "ada", "password": "guess"}).status_code == 401
        limited = s.post("/login", {"username": "ada", "password": "ada-password"})
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "60")
        assert limited.headers["content-type"].startswith("text/html") and "set-cookie" not in limited.headers
        assert 'role="alert">Too many login attempts. Please wait 60 seconds and try again.</p>' in limited.text
        assert 'value="ada"' in limited.text
        s.clock.now += 60  # one attempt back
        assert s.post("/login", {"username": "ada", "password": "ada-password"}).status_code == 303


@pytest.mark.parametrize("on", [True, False])
def test_the_login_page_shows_the_demo_logins_only_while_they_exist(on: bool) -> None:
    with shop(demo_logins=on) as s:
        assert ("Demo logins:" in s.client.get("/login").text) is on
        assert ("Demo logins:" in s.post("/login", {"username": "ada", "password": "no"}).text) is on


def test_every_answer_forbids_framing_and_type_sniffing() -> None:
    with shop() as s:
        answers = [
            s.client.get("/"),
            s.client.get("/static/storefront.css"),
            s.client.get("/api/products"),
            s.client.get("/api/sagas"),  # 401 problem
            s.client.get("/nowhere"),  # 404 problem
            s.post("/cart", {}, origin=EVIL),  # 403 problem
        ]
        for answer in answers:
            assert {name: answer.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, answer.url
        assert SECURITY_HEADERS["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_a_cart_cookie_that_is_not_ascii_is_an_empty_cart_not_an_error() -> None:
    with shop() as s:
        page = s.client.get("/", headers={b"Cookie": "rv_cart=abc.\u00e9".encode()})  # as a browser sends it
        assert page.status_code == 200 and 'Cart <span class="count">(0)</span>' in page.text


def test_the_checkout_lists_the_carts_lines() -> None:
    with shop() as s:
        s.log_in()
        s.post("/cart", {"sku": "SNES-SMW", "quantity": "2"})
        s.post("/cart", {"sku": "SNES-CHRONO", "quantity": "1"})
        page = s.client.get("/checkout").text
        rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td>(\d+)</td>\s*<td>([^<]+)</td>', page)
        assert rows == [("Super Mario World", "2", "$99.98"), ("Chrono Trigger", "1", "$89.99")]
        assert "<caption>Your order</caption>" in page and "$189.97" in page and "<legend>Test card</legend>" in page
