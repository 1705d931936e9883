"""Orders' use cases against fakes: no PostgreSQL, no Kafka, no HTTP."""

from __future__ import annotations

import uuid

import pytest

from contracts.base import PricedLine
from contracts.orders import ApproveOrder, OrderApproved, OrderPlaced, OrderRejected, RejectOrder
from contracts.topics import ORDER_EVENTS
from orders import services
from orders.domain.orders import Order, OrderLine, OrderStatus
from orders.domain.pricing import UnknownProduct
from orders.services import OrderRecord, PlaceOrderRequest
from plumbing.errors import Unprocessable
from tests.unit.orders.fakes import PLACED_AT, FakeOrdersUnitOfWork, pending, product, shop


def request(*lines: tuple[str, int], key: str | None = None, customer: str = "c-1") -> PlaceOrderRequest:
    return PlaceOrderRequest(customer, list(lines), "pm_card_visa", idempotency_key=key)


def test_placing_stores_a_pending_order_and_announces_it() -> None:
    units = shop(product("NES-SMB3", price_cents=4999), product("SNES-CHRONO", price_cents=5999))
    order, created = services.place_order(units, request(("NES-SMB3", 2), ("SNES-CHRONO", 1)))
    assert created is True
    assert str(uuid.UUID(order.order_id)) == order.order_id
    assert order.lines == [OrderLine("NES-SMB3", 2, 4999), OrderLine("SNES-CHRONO", 1, 5999)]
    assert (order.status, order.total_cents, order.currency) == (OrderStatus.PENDING, 15997, "usd")
    assert units.uow.orders.rows == {order.order_id: order}
    (sent,) = units.uow.sent
    assert (sent.topic, sent.key, sent.envelope.correlation_id) == (ORDER_EVENTS.name, order.order_id, order.order_id)
    assert sent.envelope.payload == OrderPlaced(
        order_id=order.order_id,
        customer_id="c-1",
        lines=[
            PricedLine(sku="NES-SMB3", quantity=2, unit_price_cents=4999),
            PricedLine(sku="SNES-CHRONO", quantity=1, unit_price_cents=5999),
        ],
        total_cents=15997,
        currency="usd",
        payment_method="pm_card_visa",
    )
    assert (units.committed, units.rolled_back) == (1, 0)


def test_an_unknown_sku_places_nothing_and_names_its_line() -> None:
    units = shop(product("NES-SMB3"))
    with pytest.raises(UnknownProduct) as unknown:
        services.place_order(units, request(("NES-SMB3", 1), ("NES-NOPE", 1)))
    assert (unknown.value.index, unknown.value.sku) == (1, "NES-NOPE")
    assert (units.committed, units.rolled_back) == (0, 1)
    assert units.uow.orders.rows == {}
    assert units.uow.sent == []


def test_a_retry_with_the_same_idempotency_key_gets_the_first_order() -> None:
    units = shop(product("NES-SMB3"))
    first, created = services.place_order(units, request(("NES-SMB3", 2), key="k-1"))
    again, created_again = services.place_order(units, request(("NES-SMB3", 2), key="k-1"))
    assert (created, created_again) == (True, False)
    assert again == first
    assert list(units.uow.orders.rows) == [first.order_id]
    assert len(units.uow.payloads(ORDER_EVENTS)) == 1
    assert units.committed == 2


def test_a_used_idempotency_key_with_another_body_is_a_conflict() -> None:
    units = shop(product("NES-SMB3"))
    first, _ = services.place_order(units, request(("NES-SMB3", 2), key="k-1"))
    with pytest.raises(services.IdempotencyConflict, match="k-1"):
        services.place_order(units, request(("NES-SMB3", 3), key="k-1"))
    assert list(units.uow.orders.rows) == [first.order_id]
    assert len(units.uow.payloads(ORDER_EVENTS)) == 1
    assert (units.committed, units.rolled_back) == (1, 1)


def test_a_simultaneous_request_with_the_same_key_gets_the_order_that_won_and_announces_nothing() -> None:
    units = shop(product("NES-SMB3"))
    same = request(("NES-SMB3", 2), key="k-1")
    winner = Order("o-won", "c-1", "pm_card_visa", [OrderLine("NES-SMB3", 2, 4999)], idempotency_key="k-1")
    winner.request_fingerprint = same.fingerprint()
    units.uow.orders.concurrent.append(winner)  # committed after our look-up, before our insert
    assert services.place_order(units, same) == (winner, False)
    assert list(units.uow.orders.rows) == ["o-won"]
    assert units.uow.sent == []  # the winner's request announced it
    assert (units.committed, units.rolled_back) == (1, 0)


def test_a_simultaneous_request_with_the_same_key_and_another_body_is_a_conflict() -> None:
    units = shop(product("NES-SMB3"))
    winner = Order("o-won", "c-1", "pm_card_visa", [OrderLine("NES-SMB3", 1, 4999)], idempotency_key="k-1")
    winner.request_fingerprint = request(("NES-SMB3", 1)).fingerprint()
    units.uow.orders.concurrent.append(winner)
    with pytest.raises(services.IdempotencyConflict, match="k-1"):
        services.place_order(units, request(("NES-SMB3", 2), key="k-1"))
    assert list(units.uow.orders.rows) == ["o-won"]
    assert units.uow.sent == []
    assert (units.committed, units.rolled_back) == (0, 1)


def test_without_an_idempotency_key_each_request_is_a_new_order() -> None:
    units = shop(product("NES-SMB3"))
    first, _ = services.place_order(units, request(("NES-SMB3", 1)))
    second, _ = services.place_order(units, request(("NES-SMB3", 1)))
    assert first.order_id != second.order_id
    assert len(units.uow.orders.rows) == 2
    assert [e.order_id for e in units.uow.payloads(ORDER_EVENTS)] == [first.order_id, second.order_id]


def test_the_request_fingerprint_is_stable_and_ignores_the_key() -> None:
    # Stored with each order and compared with later retries: it must never change between versions.
    expected = "cbc55802ccf0730694883824950c8f9d9b8ae644c98396e378f7389e0690dfa5"
    assert request(("NES-SMB3", 2)).fingerprint() == expected
    assert request(("NES-SMB3", 2), key="k-1").fingerprint() == expected
    units = shop(product("NES-SMB3"))
    order, _ = services.place_order(units, request(("NES-SMB3", 2), key="k-1"))
    assert (order.idempotency_key, order.request_fingerprint) == ("k-1", expected)


def test_an_order_is_read_with_its_timestamps_without_a_commit() -> None:
    units = shop()
    order = pending(units.uow)
    assert services.get_order(units, "o-1") == OrderRecord(order, PLACED_AT, PLACED_AT)
    with pytest.raises(services.UnknownOrder, match=r"^no order 'nope'$"):
        services.get_order(units, "nope")
    assert (units.committed, units.rolled_back) == (0, 0)


def test_approving_locks_and_saves_the_order() -> None:
    uow = FakeOrdersUnitOfWork()
    pending(uow)
    assert services.approve_order(uow, ApproveOrder(order_id="o-1")) == OrderApproved(order_id="o-1")
    assert services.approve_order(uow, ApproveOrder(order_id="o-1")) == OrderApproved(order_id="o-1")
    assert uow.orders.rows["o-1"].status is OrderStatus.APPROVED
    assert uow.orders.locked == [["o-1"], ["o-1"]]
    assert uow.orders.times["o-1"][1] > PLACED_AT
    assert uow.sent == []


def test_rejecting_keeps_the_first_reason() -> None:
    uow = FakeOrdersUnitOfWork()
    pending(uow)
    first = services.reject_order(uow, RejectOrder(order_id="o-1", reason="out of stock: NES-SMB3"))
    again = services.reject_order(uow, RejectOrder(order_id="o-1", reason="payment declined"))
    assert first == again == OrderRejected(order_id="o-1")
    stored = uow.orders.rows["o-1"]
    assert (stored.status, stored.reason) == (OrderStatus.REJECTED, "out of stock: NES-SMB3")
    assert uow.sent == []


def test_a_decided_order_cannot_change_its_mind() -> None:
    uow = FakeOrdersUnitOfWork()
    pending(uow, "approved")
    pending(uow, "rejected")
    services.approve_order(uow, ApproveOrder(order_id="approved"))
    services.reject_order(uow, RejectOrder(order_id="rejected", reason="out of stock"))
    with pytest.raises(Unprocessable, match=r"^order approved is APPROVED and cannot be rejected$"):
        services.reject_order(uow, RejectOrder(order_id="approved", reason="late"))
    with pytest.raises(Unprocessable, match=r"^order rejected is REJECTED and cannot be approved$"):
        services.approve_order(uow, ApproveOrder(order_id="rejected"))
    assert (uow.orders.rows["approved"].status, uow.orders.rows["approved"].reason) == (OrderStatus.APPROVED, None)
    assert (uow.orders.rows["rejected"].status, uow.orders.rows["rejected"].reason) == (
        OrderStatus.REJECTED,
        "out of stock",
    )


def test_deciding_an_unknown_order_is_unprocessable() -> None:
    uow = FakeOrdersUnitOfWork()
    with pytest.raises(Unprocessable, match=r"^no order nope$"):
        services.approve_order(uow, ApproveOrder(order_id="nope"))
    with pytest.raises(Unprocessable, match=r"^no order nope$"):
        services.reject_order(uow, RejectOrder(order_id="nope", reason="out of stock"))
    assert uow.orders.rows == {}


def test_product_changes_keep_the_newest_revision() -> None:
    uow = FakeOrdersUnitOfWork()
    services.apply_product_changes(uow, [product("NES-SMB3", price_cents=4999, revision=2)])
    services.apply_product_changes(uow, [product("NES-SMB3", price_cents=3999, revision=1)])  # late, ignored
    assert uow.product_view.prices(["NES-SMB3"]) == {"NES-SMB3": 4999}
    services.apply_product_changes(uow, [product("NES-SMB3", price_cents=5999, revision=3)])
    services.apply_product_changes(uow, [product("SNES-CHRONO", price_cents=6999, revision=1)])
    assert uow.product_view.prices(["NES-SMB3", "SNES-CHRONO"]) == {"NES-SMB3": 5999, "SNES-CHRONO": 6999}
    assert uow.sent == []


def test_orders_is_ready_once_its_product_view_holds_a_product() -> None:
    uow = FakeOrdersUnitOfWork()
    assert services.ready(uow) == "product view is empty"
    services.apply_product_changes(uow, [product("NES-SMB3")])
    assert services.ready(uow) is None
