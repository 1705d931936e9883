"""Orders' status and pricing rules, as plain objects."""

from __future__ import annotations

import pytest

from orders.domain.orders import InvalidTransition, Order, OrderLine, OrderStatus
from orders.domain.pricing import UnknownProduct, price_lines


def _order() -> Order:
    return Order("o-1", "c-1", "pm_card_visa", [OrderLine("A", 2, 1000), OrderLine("B", 1, 2000)])


def test_an_order_totals_its_lines() -> None:
    assert _order().total_cents == 4000


def test_an_approved_order_cannot_be_rejected_and_vice_versa() -> None:
    approved, rejected = _order(), _order()
    approved.approve()
    rejected.reject("out of stock")
    with pytest.raises(InvalidTransition):
        approved.reject("late")
    with pytest.raises(InvalidTransition):
        rejected.approve()
    assert (approved.status, rejected.status, rejected.reason) == (
        OrderStatus.APPROVED,
        OrderStatus.REJECTED,
        "out of stock",
    )


def test_deciding_twice_the_same_way_is_a_no_op() -> None:
    order = _order()
    order.reject("first reason")
    order.reject("second reason")
    assert order.reason == "first reason"


def test_pricing_names_the_unknown_line() -> None:
    assert price_lines([("A", 2)], {"A": 1000}) == [OrderLine("A", 2, 1000)]
    with pytest.raises(UnknownProduct) as unknown:
        price_lines([("A", 1), ("Q", 1)], {"A": 1000})
    assert unknown.value.index == 1 and unknown.value.sku == "Q"
