"""Orders' HTTP API in process, over fake units of work: the statuses, bodies and headers it answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from orders.bootstrap import HTTP_API
from orders.settings import OrdersSettings
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.http import Client, client_for
from tests.unit.orders.fakes import FakeOrdersUnitOfWork, pending, product, shop


class Unanswered(FakeUnitsOfWork[FakeOrdersUnitOfWork]):
    """The next ``lost`` transactions commit, then the connection drops before the commit is acknowledged;
    ``down`` makes reads fail the same way."""

    def __init__(self, uow: FakeOrdersUnitOfWork) -> None:
        super().__init__(uow)
        self.lost = 0
        self.down = False

    @contextmanager
    def begin(self) -> Iterator[FakeOrdersUnitOfWork]:
        with super().begin() as uow:
            yield uow
        if self.lost:
            self.lost -= 1
            raise connection_lost()

    @contextmanager
    def read(self) -> Iterator[FakeOrdersUnitOfWork]:
        if self.down:
            raise connection_lost()
        with super().read() as uow:
            yield uow


def connection_lost() -> sa.exc.OperationalError:
    error = psycopg.OperationalError("server closed the connection unexpectedly")
    return sa.exc.OperationalError("COMMIT", None, error, connection_invalidated=True)


@pytest.fixture
def units() -> Unanswered:
    return Unanswered(shop(product("NES-SMB3", price_cents=4999)).uow)


@pytest.fixture
def client(units: FakeUnitsOfWork[FakeOrdersUnitOfWork]) -> Iterator[Client]:
    with client_for(HTTP_API, units, OrdersSettings.load()) as client:
        yield client


def body(*items: tuple[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": "c-1",
        "items": [{"sku": sku, "quantity": qty} for sku, qty in items],
        "payment_method": "pm_card_visa",
    }


def test_an_accepted_order_is_202_with_its_location(
    client: Client, units: FakeUnitsOfWork[FakeOrdersUnitOfWork]
) -> None:
    response = client.post("/orders", json=body(("NES-SMB3", 2)))
    (order_id,) = units.uow.orders.rows
    assert response.status_code == 202
    assert response.json() == {"order_id": order_id, "status": "PENDING"}
    assert response.headers["location"] == f"/orders/{order_id}"


def test_a_repeated_idempotency_key_answers_the_same_order_or_409(client: Client) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = client.post("/orders", json=body(("NES-SMB3", 2)), headers=headers)
    again = client.post("/orders", json=body(("NES-SMB3", 2)), headers=headers)
    other = client.post("/orders", json=body(("NES-SMB3", 3)), headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json() == {
        "type": "about:blank",
        "title": "Invalid field",
        "status": 409,
        "detail": "Idempotency-Key: was already used with a different request body",
        "errors": [{"field": "Idempotency-Key", "message": "was already used with a different request body"}],
    }


def test_an_unknown_sku_is_422_naming_its_line(client: Client, units: FakeUnitsOfWork[FakeOrdersUnitOfWork]) -> None:
    response = client.post("/orders", json=body(("NES-SMB3", 1), ("NES-NOPE", 1)))
    assert response.status_code == 422
    assert response.json() == {
        "type": "about:blank",
        "title": "Invalid field",
        "status": 422,
        "detail": "items[1].sku: unknown sku 'NES-NOPE'",
        "errors": [{"field": "items[1].sku", "message": "unknown sku 'NES-NOPE'"}],
    }
    assert (units.committed, units.rolled_back, units.uow.sent) == (0, 1, [])


def test_a_quantity_sent_as_text_is_400(client: Client, units: FakeUnitsOfWork[FakeOrdersUnitOfWork]) -> None:
    response = client.post("/orders", json=body(("NES-SMB3", "2")))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "items[0].quantity", "message": "Expected `int`, got `str` - at `$.items[0].quantity`"}
    ]
    assert units.committed == 0


def test_an_order_reads_with_its_lines_and_timestamps(
    client: Client, units: FakeUnitsOfWork[FakeOrdersUnitOfWork]
) -> None:
    pending(units.uow)
    response = client.get("/orders/o-1")
    assert response.status_code == 200
    assert response.json() == {
        "order_id": "o-1",
        "customer_id": "c-1",
        "status": "PENDING",
        "reason": None,
        "total_cents": 4999,
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "items": [{"sku": "NES-SMB3", "quantity": 1, "unit_price_cents": 4999}],
        "created_at": "2024-05-01T12:00:00Z",
        "updated_at": "2024-05-01T12:00:00Z",
    }
    assert units.committed == 0


def test_an_unknown_order_is_404(client: Client) -> None:
    response = client.get("/orders/nope")
    assert response.status_code == 404
    assert response.json() == {
        "type": "about:blank",
        "title": "no order 'nope'",
        "status": 404,
        "detail": "no order 'nope'",
    }


def test_a_lost_commit_acknowledgement_says_the_order_may_exist_and_a_retry_finds_it(
    client: Client, units: Unanswered
) -> None:
    units.lost = 1
    headers = {"Idempotency-Key": "k-lost"}
    unanswered = client.post("/orders", json=body(("NES-SMB3", 2)), headers=headers)
    assert (unanswered.status_code, unanswered.headers["retry-after"]) == (503, "1")
    assert unanswered.json() == {
        "type": "about:blank",
        "title": "Service unavailable",
        "status": 503,
        "detail": "the database did not answer: the order may have been created; retry with the same Idempotency-Key",
    }
    (created,) = units.uow.orders.rows
    retried = client.post("/orders", json=body(("NES-SMB3", 2)), headers=headers)
    assert (retried.status_code, retried.json()) == (202, {"order_id": created, "status": "PENDING"})
    assert list(units.uow.orders.rows) == [created]


def test_a_read_the_database_did_not_answer_says_nothing_was_changed(client: Client, units: Unanswered) -> None:
    units.down = True
    response = client.get("/orders/o-1")
    assert (response.status_code, response.headers["retry-after"]) == (503, "1")
    assert response.json()["detail"] == "the database did not answer: nothing was changed; retry later"


def test_an_order_id_longer_than_any_order_has_is_400(client: Client) -> None:
    response = client.get("/orders/" + "7" * 65)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "order_id", "message": "Expected `str` of length <= 64"}]
