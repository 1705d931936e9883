"""``GET /orders?customer_id=``: a customer's newest orders first, at most ``limit``; bad queries are 400."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orders.bootstrap import HTTP_API
from orders.domain.orders import Order, OrderLine
from orders.settings import OrdersSettings
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.http import Client, client_for
from tests.unit.orders.fakes import FakeOrdersUnitOfWork, product, shop


@pytest.fixture
def units() -> FakeUnitsOfWork[FakeOrdersUnitOfWork]:
    units = shop(product("NES-SMB3", price_cents=4999))
    for n, customer in enumerate(["ada", "bob", "ada", "ada"], 1):
        units.uow.orders.add(Order(f"o-{n}", customer, "pm_card_visa", [OrderLine("NES-SMB3", n, 4999)]))
    return units


@pytest.fixture
def client(units: FakeUnitsOfWork[FakeOrdersUnitOfWork]) -> Iterator[Client]:
    with client_for(HTTP_API, units, OrdersSettings.load()) as client:
        yield client


def test_a_customers_orders_newest_first_up_to_the_limit(client: Client) -> None:
    answer = client.get("/orders", params={"customer_id": "ada"})
    assert answer.status_code == 200
    assert [(o["order_id"], o["total_cents"]) for o in answer.json()] == [("o-4", 19996), ("o-3", 14997), ("o-1", 4999)]
    assert [o["order_id"] for o in client.get("/orders", params={"customer_id": "ada", "limit": 2}).json()] == [
        "o-4",
        "o-3",
    ]
    assert client.get("/orders", params={"customer_id": "nobody"}).json() == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "customer_id"),
        ({"customer_id": "ada", "limit": 0}, "limit"),
        ({"customer_id": "ada", "limit": 101}, "limit"),
    ],
)
def test_a_bad_query_is_400_naming_the_field(client: Client, params: dict[str, str | int], field: str) -> None:
    answer = client.get("/orders", params=params)
    assert answer.status_code == 400
    assert field in answer.text


def test_options_names_every_method_of_orders(client: Client) -> None:
    answer = client.options("/orders")
    assert (answer.status_code, answer.headers["allow"]) == (204, "GET, OPTIONS, POST")
