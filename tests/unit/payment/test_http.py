"""Payment's HTTP API in process, over fake units of work: the statuses and bodies it answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from payment import services
from payment.bootstrap import HTTP_API
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.http import Client, client_for
from tests.unit.payment.fakes import DECLINING_CARD, FakePaymentUnitOfWork, charge, payments


@pytest.fixture
def units() -> FakeUnitsOfWork[FakePaymentUnitOfWork]:
    return payments()


@pytest.fixture
def client(units: FakeUnitsOfWork[FakePaymentUnitOfWork]) -> Iterator[Client]:
    with client_for(HTTP_API, units) as client:
        yield client


def test_an_orders_payment_is_shown_as_it_ended(client: Client, units: FakeUnitsOfWork[FakePaymentUnitOfWork]) -> None:
    asyncio.run(services.charge_payment(units.uow, charge("o-1")))
    asyncio.run(services.charge_payment(units.uow, charge("o-2", method=DECLINING_CARD)))
    answered = client.get("/payments/o-1")
    assert (answered.status_code, answered.headers["content-type"]) == (200, "application/json")
    assert answered.json() == {
        "order_id": "o-1",
        "status": "SUCCEEDED",
        "amount_cents": 4499,
        "currency": "usd",
        "intent_id": "pi_1",
        "decline_reason": None,
        "decline_code": None,
        "refund_id": None,
    }
    declined = client.get("/payments/o-2").json()
    assert (declined["status"], declined["decline_reason"], declined["decline_code"]) == (
        "DECLINED",
        "Your card was declined.",
        "card_declined",
    )
    assert units.committed == 0


def test_an_order_payment_has_not_seen_is_404(client: Client) -> None:
    answered = client.get("/payments/o-9")
    assert (answered.status_code, answered.headers["content-type"]) == (404, "application/problem+json")
    assert answered.json() == {
        "type": "about:blank",
        "title": "no payment for order 'o-9'",
        "status": 404,
        "detail": "no payment for order 'o-9'",
    }


def test_an_order_id_longer_than_any_order_has_is_400(client: Client) -> None:
    response = client.get("/payments/" + "7" * 65)
    assert (response.status_code, response.headers["content-type"]) == (400, "application/problem+json")
    assert response.json()["errors"] == [{"field": "order_id", "message": "Expected `str` of length <= 64"}]
