"""The storefront's pages on fakes: login and logout, the catalogue's search, a game's page, the cart, checkout
(one order per checkout), an order's live status, "My orders", and a clear page for every error."""

from __future__ import annotations

import re

from tests.unit.gateway.shop_fakes import ORIGIN, Shop, shop


def _key(page: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def _checkout(s: Shop, card: str = "approved") -> str:
    placed = s.post("/checkout", {"idempotency_key": _key(s.client.get("/checkout").text), "card": card})
    assert placed.status_code == 303, placed.text
    return str(placed.headers["location"])


def test_logging_in_sets_the_session_cookie_and_goes_back_to_next() -> None:
    with shop() as s:
        answer = s.post("/login", {"username": "ada", "password": "ada-password", "next": "/orders"})
        assert (answer.status_code, answer.headers["location"]) == (303, "/orders")
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("rv_session=ey") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Path=/" in cookie and "Secure" not in cookie
        assert "Log out" in s.client.get("/").text
        logged_out = s.post("/logout", {})
        assert (logged_out.status_code, logged_out.headers["location"]) == (303, "/")
        assert 'rv_session=""' in logged_out.headers["set-cookie"] or "Max-Age=0" in logged_out.headers["set-cookie"]
        assert '<a class="login" href="/login">Log in</a>' in s.client.get("/").text


def test_a_failed_login_says_so_and_keeps_the_username_and_next_never_leaves_the_site() -> None:
    with shop() as s:
        failed = s.post("/login", {"username": "ada", "password": "nope", "next": "/cart"})
        assert failed.status_code == 401
        assert '<p class="alert" role="alert">Wrong username or password.</p>' in failed.text
        assert 'value="ada"' in failed.text and 'name="next" value="/cart"' in failed.text
        away = s.post("/login", {"username": "ada", "password": "ada-password", "next": "//evil.example"})
        assert away.headers["location"] == "/"
        assert 'name="next" value="/"' in s.client.get("/login?next=https://evil.example/").text


def test_pages_that_need_a_login_send_people_to_it_and_an_expired_session_says_so() -> None:
    with shop() as s:
        for path in ("/orders", "/orders/o-1", "/checkout"):
            answer = s.client.get(path, follow_redirects=False)
            assert (answer.status_code, answer.headers["location"]) == (303, f"/login?next={path.replace('/', '%2F')}")
        s.log_in()
        s.clock.now -= 3600  # the session's token was issued an hour ago: it has expired
        s.log_in()
        s.clock.now += 3600
        answer = s.client.get("/orders?x=1", follow_redirects=False)
        assert answer.headers["location"] == "/login?next=%2Forders%3Fx%3D1&expired=1"
        assert "Your session has expired, please log in again." in s.client.get(answer.headers["location"]).text


def test_the_catalogue_searches_titles_in_any_case_and_filters_by_platform() -> None:
    with shop() as s:
        page = s.client.get("/").text
        assert page.count("<article") == 4 and '<option value="">All platforms</option>' in page
        assert re.findall(r"<h2><a href=\"/products/([^\"]+)\">", s.client.get("/?q=MARIO").text) == ["SNES-SMW"]
        snes = s.client.get("/?platform=SNES").text
        assert re.findall(r"<h2><a href=\"/products/([^\"]+)\">", snes) == ["SNES-CHRONO", "SNES-SMW"]
        assert '<option value="SNES" selected>' in snes
        assert "No games match your search." in s.client.get("/?q=mario&platform=NES").text
        assert "The Legend of &lt;Zelda&gt;" in page and "<Zelda>" not in page
        assert 'hx-get="/"' in page and 'role="search"' in page


def test_a_games_page_shows_its_cover_and_an_unknown_one_is_a_404_page() -> None:
    with shop() as s:
        page = s.client.get("/products/SNES-CHRONO").text
        assert "<h1>Chrono Trigger</h1>" in page and 'aria-label="Cover art for Chrono Trigger"' in page
        assert "$89.99" in page and "In stock (3 available)" in page and 'for="quantity">Quantity' in page
        assert "Out of stock" in s.client.get("/products/MD-SONIC2").text
        missing = s.client.get("/products/NOPE")
        assert missing.status_code == 404 and "We have no game with the code &#39;NOPE&#39;." in missing.text
        assert missing.headers["content-type"].startswith("text/html")


def test_the_cart_adds_removes_and_refuses_what_cannot_be_had() -> None:
    with shop() as s:
        assert "Your cart is empty" in s.client.get("/cart").text
        assert s.post("/cart", {"sku": "SNES-SMW", "quantity": "2"}).headers["location"] == "/cart"
        s.post("/cart", {"sku": "SNES-CHRONO", "quantity": "1"})
        cart = s.client.get("/cart").text
        assert 'Cart <span class="count">(3)</span>' in cart and "$99.98" in cart and "$189.97" in cart
        assert 'Remove<span class="visually-hidden"> Super Mario World</span>' in cart
        for sku, quantity, status, message in [
            ("MD-SONIC2", "1", 409, "Sonic the Hedgehog 2 is out of stock."),
            ("SNES-CHRONO", "3", 409, "Chrono Trigger is only 3 left."),
            ("NOPE", "1", 404, "We have no game with the code &#39;NOPE&#39;."),
            ("SNES-SMW", "9", 400, "At most 10 of a game per order."),
            ("SNES-SMW", "x", 400, "Choose a quantity from 1 to 10."),
        ]:
            refused = s.post("/cart", {"sku": sku, "quantity": quantity})
            assert (refused.status_code, f'role="alert">{message}</p>' in refused.text) == (status, True)
        s.post("/cart/remove", {"sku": "SNES-SMW"})
        assert "Super Mario World" not in s.client.get("/cart").text


def test_a_checkout_places_one_order_for_the_customer_however_often_it_is_submitted() -> None:
    with shop() as s:
        s.log_in()
        s.post("/cart", {"sku": "SNES-SMW", "quantity": "2"})
        form = s.client.get("/checkout").text
        assert "<legend>Test card</legend>" in form
        assert re.findall(r'<label for="card-\w+">([^<]+)</label>', form) == ["Approved", "Declined"]
        key = _key(form)
        first = s.post("/checkout", {"idempotency_key": key, "card": "declined"})
        again = s.post("/checkout", {"idempotency_key": key, "card": "declined"})
        assert first.headers["location"] == again.headers["location"] == "/orders/o-1"
        (order,) = s.upstreams.orders.values()
        assert order["customer_id"] == "ada" and order["payment_method"] == "pm_card_chargeCustomerFail"
        assert order["items"] == [{"sku": "SNES-SMW", "quantity": 2, "unit_price_cents": 4999}]
        posted = [sent for sent in s.upstreams.sent if sent[:3] == ("orders", "POST", "/orders")]
        assert [sent[4]["idempotency-key"] for sent in posted] == [key]
        assert posted[0][4]["x-authenticated-subject"] == "ada"
        assert "Your cart is empty" in s.client.get("/cart").text


def test_the_order_page_polls_while_pending_then_shows_the_outcome_and_reason() -> None:
    with shop() as s:
        s.log_in()
        s.post("/cart", {"sku": "SNES-SMW", "quantity": "1"})
        where = _checkout(s)
        pending = s.client.get(where).text
        assert "<h1>Order o-1</h1>" in pending and 'role="status" aria-live="polite"' in pending
        assert "<strong>PENDING</strong>" in pending and 'hx-trigger="every 1s"' in pending
        s.upstreams.orders["o-1"] |= {"status": "REJECTED", "reason": "payment declined: Your card was declined."}
        rejected = s.client.get(where).text
        assert "<strong>REJECTED</strong> — payment declined: Your card was declined." in rejected
        assert "hx-trigger" not in rejected
        mine = s.client.get("/orders").text
        assert "<h1>My orders</h1>" in mine and re.findall(r'href="/orders/(o-\d+)"', mine) == ["o-1"]
        s.log_in("bob")
        other = s.client.get(where)
        assert other.status_code == 404 and "You have no order &#39;o-1&#39;." in other.text
        assert 'href="/orders/o-1"' not in s.client.get("/orders").text
        s.log_in("olga")
        assert s.client.get(where).status_code == 200


def test_checkout_refuses_an_empty_cart_a_sold_out_game_and_too_many_orders() -> None:
    with shop(burst=1) as s:
        s.log_in()
        empty = s.post("/checkout", {"idempotency_key": "k-1", "card": "approved"})
        assert (empty.status_code, "Your cart is empty." in empty.text) == (400, True)
        s.post("/cart", {"sku": "SNES-CHRONO", "quantity": "3"})
        s.upstreams.products["SNES-CHRONO"]["available"] = 1
        sold = s.post("/checkout", {"idempotency_key": "k-2", "card": "approved"})
        assert (sold.status_code, "Chrono Trigger is only 1 left: change your cart." in sold.text) == (409, True)
        s.upstreams.products["SNES-CHRONO"]["available"] = 9
        assert s.post("/checkout", {"idempotency_key": "k-3", "card": "approved"}).status_code == 303
        s.post("/cart", {"sku": "SNES-SMW", "quantity": "1"})
        limited = s.post("/checkout", {"idempotency_key": "k-4", "card": "approved"})
        assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
        assert "You are placing orders too quickly. Please wait 60 seconds and try again." in limited.text


def test_a_service_that_is_down_is_a_friendly_503_page() -> None:
    with shop() as s:
        s.upstreams.down.add("catalog")
        down = s.client.get("/")
        assert down.status_code == 503 and down.headers["content-type"].startswith("text/html")
        assert "Our catalogue service is not answering right now." in down.text
        s.log_in()
        s.upstreams.down = {"orders"}
        assert "Our orders service is not answering right now." in s.client.get("/orders").text


def test_the_session_cookie_authenticates_the_api_and_a_cross_site_change_is_403() -> None:
    with shop() as s:
        s.log_in()
        body = {"items": [{"sku": "SNES-SMW", "quantity": 1}], "payment_method": "pm_card_visa"}
        ours = s.client.post("/api/orders", json=body, headers={"Origin": ORIGIN})
        assert ours.status_code == 202
        theirs = s.client.post("/api/orders", json=body, headers={"Origin": "https://evil.example"})
        assert theirs.status_code == 403 and theirs.headers["content-type"] == "application/problem+json"
        assert theirs.json()["errors"] == [{"field": "Origin", "message": "must be this site"}]
        assert s.client.post("/api/orders", json=body).status_code == 403  # no Origin nor Referer
        assert s.post("/cart", {"sku": "SNES-SMW"}, origin="https://evil.example").status_code == 403
        assert s.post("/logout", {}, origin=None).status_code == 403
        assert s.client.get("/api/orders/o-1").json()["customer_id"] == "ada"


def test_a_customer_lists_only_their_own_orders_and_an_operator_anyones() -> None:
    with shop() as s:
        s.log_in()
        assert s.client.get("/api/orders", params={"limit": 5}).status_code == 200
        assert s.upstreams.sent[-1][3] == b"limit=5&customer_id=ada"
        other = s.client.get("/api/orders", params={"customer_id": "bob"})
        assert other.status_code == 403 and other.json()["errors"][0]["field"] == "customer_id"
        s.log_in("olga")
        assert s.client.get("/api/orders", params={"customer_id": "bob"}).status_code == 200
        assert s.upstreams.sent[-1][3] == b"customer_id=bob"


def test_a_browser_asking_for_the_dashboard_without_a_session_is_sent_to_log_in() -> None:
    with shop() as s:
        html = {"Accept": "text/html,application/xhtml+xml"}
        page = s.client.get("/dashboard/sagas/5f0c?x=1", headers=html, follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/login?next=%2Fdashboard%2Fsagas%2F5f0c%3Fx%3D1")
        expired = s.client.get(
            "/dashboard", headers=html | {"Authorization": "Bearer nonsense"}, follow_redirects=False
        )
        assert expired.headers["location"] == "/login?next=%2Fdashboard&expired=1"
        api = s.client.get("/dashboard")
        assert (api.status_code, api.headers["content-type"]) == (401, "application/problem+json")
        s.log_in("olga")
        s.client.get("/dashboard", headers=html)
        assert s.upstreams.sent[-1][:3] == ("coordinator", "GET", "/dashboard")
        assert s.upstreams.sent[-1][4]["x-authenticated-role"] == "operator"
