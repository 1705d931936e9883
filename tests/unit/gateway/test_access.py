"""The gateway's access rules, without HTTP: every route against anonymous, customer and operator callers."""

from __future__ import annotations

import pytest

from gateway.domain.access import Check, Refusal, Route, route
from gateway.domain.principals import Principal, Role

CUSTOMER = Principal("ada", Role.CUSTOMER)
OPERATOR = Principal("olga", Role.OPERATOR)
UNKNOWN_ROLE = Principal("eve", None)

OPERATOR_ONLY = [
    ("PUT", "/api/products/SNES-SMW/stock", "catalog", "/products/SNES-SMW/stock"),
    ("POST", "/api/products/SNES-SMW/stock-adjustments", "catalog", "/products/SNES-SMW/stock-adjustments"),
    ("GET", "/api/stock-adjustments", "catalog", "/stock-adjustments"),
    ("GET", "/api/sagas", "coordinator", "/sagas"),
    ("GET", "/api/sagas/summary", "coordinator", "/sagas/summary"),
    ("POST", "/api/sagas/5f0c/replay", "coordinator", "/sagas/5f0c/replay"),
    ("GET", "/api/dead-letters", "coordinator", "/dead-letters"),
    ("POST", "/api/dead-letters/7/replay", "coordinator", "/dead-letters/7/replay"),
    ("GET", "/api/payments/o-1", "payment", "/payments/o-1"),
    ("GET", "/api/orders/o-1/anything", "orders", "/orders/o-1/anything"),
    ("GET", "/dashboard", "coordinator", "/dashboard"),
    ("POST", "/dashboard/outbox/3/retry", "coordinator", "/dashboard/outbox/3/retry"),
]


@pytest.mark.parametrize(("method", "path", "service", "upstream"), OPERATOR_ONLY)
def test_operator_only_routes(method: str, path: str, service: str, upstream: str) -> None:
    assert route(method, path, None) is Refusal.UNAUTHENTICATED
    assert route(method, path, CUSTOMER) is Refusal.FORBIDDEN
    assert route(method, path, UNKNOWN_ROLE) is Refusal.FORBIDDEN
    allowed = route(method, path, OPERATOR)
    assert isinstance(allowed, Route)
    assert (allowed.service, allowed.upstream_path, allowed.check) == (service, upstream, Check.NONE)


@pytest.mark.parametrize("path", ["/api/products", "/api/products/", "/api/products/SNES-SMW"])
def test_anyone_browses_the_catalogue(path: str) -> None:
    for caller in (None, CUSTOMER, OPERATOR):
        allowed = route("GET", path, caller)
        assert isinstance(allowed, Route)
        assert (allowed.service, allowed.upstream_path) == ("catalog", path.replace("/api", "", 1))


def test_a_customer_places_orders_only_for_themselves_and_is_rate_limited() -> None:
    assert route("POST", "/api/orders", None) is Refusal.UNAUTHENTICATED
    customer = route("POST", "/api/orders", CUSTOMER)
    operator = route("POST", "/api/orders", OPERATOR)
    assert isinstance(customer, Route) and isinstance(operator, Route)
    assert (customer.upstream_path, customer.check, customer.rule.rate_limited) == ("/orders", Check.OWN_BODY, True)
    assert operator.check is Check.NONE


def test_a_customer_reads_orders_only_if_they_are_theirs() -> None:
    assert route("GET", "/api/orders/o-1", None) is Refusal.UNAUTHENTICATED
    customer = route("GET", "/api/orders/o-1", CUSTOMER)
    operator = route("GET", "/api/orders/o-1", OPERATOR)
    assert isinstance(customer, Route) and customer.check is Check.OWN_ORDER
    assert isinstance(operator, Route) and operator.check is Check.NONE


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api"),
        ("GET", "/api/nothing"),
        ("GET", "/api/productsX"),
        ("GET", "/api/products/../sagas"),
        ("GET", "/api/products/./SNES-SMW"),
        ("HEAD", "/api/products"),
        ("GET", "/health/../api/sagas"),
    ],
)
def test_unknown_paths_are_not_found_for_everyone(method: str, path: str) -> None:
    for caller in (None, CUSTOMER, OPERATOR):
        assert route(method, path, caller) is Refusal.NOT_FOUND
