"""The gateway over HTTP on fakes: every route against anonymous, customer, other customer and operator
callers; bad tokens; customers' own orders; the rate limit; what is forwarded; upstream failures."""

from __future__ import annotations

import json

import pytest

from gateway.domain.principals import Role
from tests.unit.gateway.fakes import Door, front_door

ORDER = {"order_id": "o-1", "customer_id": "ada", "status": "PENDING"}
PLACE = {"items": [{"sku": "SNES-SMW", "quantity": 1}], "payment_method": "pm_card_visa"}

# (method, path, anonymous, customer ada, customer bob, operator); ada owns order o-1.
ROUTES = [
    ("GET", "/api/products", 200, 200, 200, 200),
    ("GET", "/api/products/SNES-SMW", 200, 200, 200, 200),
    ("PUT", "/api/products/SNES-SMW/stock", 401, 403, 403, 200),
    ("POST", "/api/products/SNES-SMW/stock-adjustments", 401, 403, 403, 200),
    ("GET", "/api/stock-adjustments", 401, 403, 403, 200),
    ("POST", "/api/orders", 401, 200, 200, 200),
    ("GET", "/api/orders/o-1", 401, 200, 404, 200),
    ("GET", "/api/orders/o-404", 401, 404, 404, 404),
    ("GET", "/api/sagas", 401, 403, 403, 200),
    ("GET", "/api/sagas/summary", 401, 403, 403, 200),
    ("POST", "/api/sagas/5f0c/replay", 401, 403, 403, 200),
    ("GET", "/api/dead-letters", 401, 403, 403, 200),
    ("POST", "/api/dead-letters/7/replay", 401, 403, 403, 200),
    ("GET", "/api/payments/o-1", 401, 403, 403, 200),
    ("GET", "/dashboard", 401, 403, 403, 200),
    ("GET", "/dashboard/sagas/5f0c", 401, 403, 403, 200),
    ("GET", "/api/nothing", 404, 404, 404, 404),
]
CALLERS = [(None, Role.CUSTOMER), ("ada", Role.CUSTOMER), ("bob", Role.CUSTOMER), ("olga", Role.OPERATOR)]


def _call(door: Door, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps(PLACE).encode() if method in ("POST", "PUT") else None
    response = door.client.request(method, path, headers=headers, content=body)
    return response.status_code, dict(response.headers), response.content


@pytest.mark.parametrize(("method", "path", "anonymous", "ada", "bob", "operator"), ROUTES)
def test_every_route_against_every_caller(
    method: str, path: str, anonymous: int, ada: int, bob: int, operator: int
) -> None:
    with front_door() as door:
        door.upstreams.orders["o-1"] = ORDER
        for (subject, role), expected in zip(CALLERS, (anonymous, ada, bob, operator), strict=True):
            status, headers, body = _call(door, method, path, door.as_(subject, role))
            assert status == expected, (subject, status, body)
            if status >= 400:
                assert headers["content-type"] == "application/problem+json"
                assert json.loads(body)["status"] == status
            if status == 401:
                assert headers["www-authenticate"] == "Bearer"


def test_someone_elses_order_is_answered_exactly_like_a_missing_one() -> None:
    with front_door() as door:
        door.upstreams.orders["o-1"] = ORDER
        theirs = door.client.get("/api/orders/o-1", headers=door.as_("bob"))
        missing = door.client.get("/api/orders/o-1", headers=door.as_("olga", Role.OPERATOR))
        assert missing.json() == ORDER
        door.upstreams.orders.clear()
        really_missing = door.client.get("/api/orders/o-1", headers=door.as_("bob"))
        assert theirs.status_code == 404
        assert theirs.json() == {
            "type": "about:blank",
            "title": "no order 'o-1'",
            "status": 404,
            "detail": "no order 'o-1'",
        }
        assert really_missing.status_code == 404


def test_a_customers_order_carries_their_id() -> None:
    with front_door() as door:
        placed = door.client.post("/api/orders", json=PLACE, headers=door.as_("ada"))
        own = door.client.post("/api/orders", json={**PLACE, "customer_id": "ada"}, headers=door.as_("ada"))
        assert (placed.status_code, own.status_code) == (200, 200)
        assert [json.loads(s.body) for s in door.upstreams.sent] == [{**PLACE, "customer_id": "ada"}] * 2


def test_a_customer_cannot_order_for_someone_else() -> None:
    with front_door() as door:
        for body in (
            json.dumps({**PLACE, "customer_id": "bob"}),
            '{"customer_id": "bob", "items": [], "payment_method": "x", "customer_id": "ada"}',
        ):
            refused = door.client.post("/api/orders", content=body, headers=door.as_("ada"))
            if refused.status_code == 200:  # the duplicate key: the last one wins, and it is re-encoded alone
                assert json.loads(door.upstreams.sent[-1].body)["customer_id"] == "ada"
                assert door.upstreams.sent[-1].body.count(b"customer_id") == 1
                continue
            assert refused.status_code == 403
            assert refused.json()["errors"] == [
                {
                    "field": "customer_id",
                    "message": "must be your own customer id (or left out: it is taken from your token)",
                }
            ]
        assert len(door.upstreams.sent) == 1


def test_an_operator_places_orders_for_anyone() -> None:
    with front_door() as door:
        body = {**PLACE, "customer_id": "bob"}
        assert door.client.post("/api/orders", json=body, headers=door.as_("olga", Role.OPERATOR)).status_code == 200
        assert json.loads(door.upstreams.sent[0].body) == body


def test_order_placement_is_rate_limited_per_customer() -> None:
    with front_door(burst=2, per_minute=6) as door:
        ada, bob = door.as_("ada"), door.as_("bob")
        statuses = [door.client.post("/api/orders", json=PLACE, headers=ada).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = door.client.post("/api/orders", json=PLACE, headers=ada)
        assert (limited.headers["retry-after"], limited.headers["content-type"]) == ("10", "application/problem+json")
        assert door.client.post("/api/orders", json=PLACE, headers=bob).status_code == 200
        door.clock.now += 10
        assert door.client.post("/api/orders", json=PLACE, headers=ada).status_code == 200
        operator = door.as_("olga", Role.OPERATOR)
        assert {door.client.post("/api/orders", json=PLACE, headers=operator).status_code for _ in range(5)} == {200}
        assert door.client.get("/api/products", headers=ada).status_code == 200


@pytest.mark.parametrize(
    ("authorization", "description"),
    [
        ("Bearer", "expected `Authorization: Bearer <token>`"),
        ("Basic b2xnYTpvbGdh", "expected `Authorization: Bearer <token>`"),
        ("Bearer not-a-token", "the token is not valid: Not enough segments"),
    ],
)
def test_a_bad_authorization_header_is_401_even_where_none_is_needed(authorization: str, description: str) -> None:
    with front_door() as door:
        refused = door.client.get("/api/products", headers={"Authorization": authorization})
        assert refused.status_code == 401
        assert refused.json()["detail"] == description
        assert refused.headers["www-authenticate"] == f'Bearer error="invalid_token", error_description="{description}"'
        assert door.upstreams.sent == []


def test_an_expired_token_is_401() -> None:
    with front_door() as door:
        door.clock.now -= 3600
        stale = door.as_("olga", Role.OPERATOR)
        refused = door.client.get("/api/sagas", headers=stale)
        assert (refused.status_code, refused.json()["detail"]) == (401, "the token has expired")


def test_what_is_forwarded_and_what_is_not() -> None:
    with front_door() as door:
        headers = {
            **door.as_("olga", Role.OPERATOR),
            "X-Request-Id": "req-42",
            "X-Authenticated-Subject": "someone-else",
            "X-Operator": "cli:mallory",
            "Cookie": "session=secret",
            "Accept": "application/json",
        }
        answer = door.client.get("/api/sagas/summary?state=FAILED&limit=5", headers=headers)
        assert (answer.status_code, answer.headers["x-request-id"]) == (200, "req-42")
        assert answer.json() == {"service": "coordinator", "path": "/sagas/summary"}
        sent = door.upstreams.sent[0]
        assert (sent.service, sent.method, sent.path, sent.query) == (
            "coordinator",
            "GET",
            "/sagas/summary",
            b"state=FAILED&limit=5",
        )
        lowered = {k.lower(): v for k, v in sent.headers.items()}
        assert "authorization" not in lowered and "cookie" not in lowered and "x-operator" not in lowered
        assert (lowered["x-request-id"], lowered["x-authenticated-subject"], lowered["x-authenticated-role"]) == (
            "req-42",
            "olga",
            "operator",
        )
        assert lowered["accept"] == "application/json"
        assert door.upstreams.closed == 1
        made_up = door.client.get("/api/products", headers={"X-Request-Id": "bad id with spaces"})
        assert len(made_up.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("status", "title"), [(502, "Bad gateway"), (503, "Service unavailable"), (504, "Gateway timeout")]
)
def test_upstream_failures_are_problems(status: int, title: str) -> None:
    with front_door() as door:
        door.upstreams.failing = status
        failed = door.client.post("/api/orders", json=PLACE, headers=door.as_("ada"))
        assert (failed.status_code, failed.headers["content-type"]) == (status, "application/problem+json")
        assert failed.json()["title"] == title
        assert failed.headers.get("retry-after") == ("1" if status == 503 else None)
        if status == 504:
            assert "may or may not have been made" in failed.json()["detail"]


def test_logging_in_gives_a_token_that_opens_the_door() -> None:
    with front_door() as door:
        as_json = door.client.post("/auth/token", json={"username": "olga", "password": "olga-password"})
        as_form = door.client.post(
            "/auth/token", data={"username": "ada", "password": "ada-password", "grant_type": "password"}
        )
        assert (as_json.status_code, as_form.status_code) == (200, 200)
        assert as_json.headers["cache-control"] == "no-store"
        assert (as_json.json()["token_type"], as_json.json()["expires_in"]) == ("Bearer", 900)
        operator = {"Authorization": f"Bearer {as_json.json()['access_token']}"}
        customer = {"Authorization": f"Bearer {as_form.json()['access_token']}"}
        assert door.client.get("/api/sagas", headers=operator).status_code == 200
        assert door.client.get("/api/sagas", headers=customer).status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"username": "olga", "password": "wrong"}, 401, None),
        ({"username": "nobody", "password": "olga-password"}, 401, None),
        ({"username": "olga"}, 400, "password"),
        ({"username": "", "password": "x"}, 400, "username"),
    ],
)
def test_a_wrong_login_is_refused(body: dict[str, str], status: int, field: str | None) -> None:
    with front_door() as door:
        refused = door.client.post("/auth/token", json=body)
        assert (refused.status_code, refused.headers["content-type"]) == (status, "application/problem+json")
        if field is None:
            assert refused.json()["detail"] == "wrong username or password"
            assert refused.headers["www-authenticate"] == "Bearer"
        else:
            assert refused.json()["errors"][0]["field"] == field


def test_the_key_set_is_published() -> None:
    with front_door() as door:
        keys = door.client.get("/.well-known/jwks.json").json()["keys"]
        assert [(k["kty"], k["crv"], k["alg"], k["use"]) for k in keys] == [("EC", "P-256", "ES256", "sig")]
