"""Orders applies a batch of saga commands or product events at once, and places a group of requests in one
transaction, against fakes: each message or request gets exactly the outcome it would get alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from contracts.envelope import Envelope, wrap
from contracts.orders import ApproveOrder, OrderApproved, OrderPlaced, OrderRejected, RejectOrder
from contracts.topics import ORDER_EVENTS, ORDERS_COMMANDS, PRODUCT_EVENTS
from orders import services
from orders.domain.orders import OrderStatus
from orders.domain.pricing import UnknownProduct
from orders.entrypoints.messages import DECISIONS, PRODUCT_CHANGES, ROUTES
from orders.services import IdempotencyConflict, PlaceOrderRequest
from plumbing.errors import Unprocessable
from tests.unit.fakes import command
from tests.unit.orders.fakes import FakeOrdersUnitOfWork, pending, product, shop


def apply_batch(uow: FakeOrdersUnitOfWork, batch: list[Envelope[Any]], scoped: list[str]) -> None:
    @contextmanager
    def scope(envelope: Envelope[Any]) -> Iterator[None]:
        scoped.append(envelope.payload.order_id)
        yield

    DECISIONS.many(uow, batch, scope)


def test_both_decisions_share_one_batched_handler_and_product_events_another() -> None:
    assert set(ROUTES[ORDERS_COMMANDS.name].values()) == {DECISIONS}
    assert ROUTES[PRODUCT_EVENTS.name] == {"ProductChanged": PRODUCT_CHANGES}


def test_a_batch_of_decisions_locks_its_orders_once_writes_once_and_replies_to_each_in_its_scope() -> None:
    uow = FakeOrdersUnitOfWork()
    for order_id in ("o-3", "o-1", "o-2"):
        pending(uow, order_id)
    uow.orders.calls.clear()
    batch = [
        command(ApproveOrder(order_id="o-3")),
        command(RejectOrder(order_id="o-1", reason="payment declined")),
        command(ApproveOrder(order_id="o-3")),  # again: a no-op, answered again
        command(RejectOrder(order_id="o-2", reason="out of stock")),
    ]
    scoped: list[str] = []
    apply_batch(uow, batch, scoped)

    assert uow.orders.locked == [["o-1", "o-2", "o-3"]]
    assert dict(uow.orders.calls) == {"lock_many": 1, "save_statuses": 1}
    assert scoped == ["o-3", "o-1", "o-3", "o-2"]
    assert uow.replies == [
        OrderApproved(order_id="o-3"),
        OrderRejected(order_id="o-1"),
        OrderApproved(order_id="o-3"),
        OrderRejected(order_id="o-2"),
    ]
    assert [s.envelope.causation_id for s in uow.sent] == [c.message_id for c in batch]
    assert {o.order_id: (o.status, o.reason) for o in uow.orders.rows.values()} == {
        "o-1": (OrderStatus.REJECTED, "payment declined"),
        "o-2": (OrderStatus.REJECTED, "out of stock"),
        "o-3": (OrderStatus.APPROVED, None),
    }


@pytest.mark.parametrize(
    ("poison", "message"),
    [
        (ApproveOrder(order_id="o-9"), r"^no order o-9$"),
        (ApproveOrder(order_id="o-2"), r"o-2 is REJECTED and cannot be approved"),
    ],
)
def test_a_batch_with_an_impossible_decision_fails_whole_and_writes_nothing(poison: Any, message: str) -> None:
    """The consumer then applies its messages one at a time and dead-letters the bad one."""
    uow = FakeOrdersUnitOfWork()
    pending(uow, "o-1")
    pending(uow, "o-2")
    apply_batch(uow, [command(RejectOrder(order_id="o-2", reason="declined"))], [])
    uow.sent.clear()
    with pytest.raises(Unprocessable, match=message):
        apply_batch(uow, [command(ApproveOrder(order_id="o-1")), command(poison)], [])
    assert uow.orders.rows["o-1"].status is OrderStatus.PENDING


def test_a_batch_of_product_events_writes_the_newest_of_each_product_once() -> None:
    uow = FakeOrdersUnitOfWork([product("NES-SMB3", price_cents=4999, revision=5)])
    events = [
        product("SNES-CHRONO", price_cents=5999, revision=2),
        product("NES-SMB3", price_cents=3999, revision=4),  # older than the view's: ignored
        product("SNES-CHRONO", price_cents=6999, revision=3),
        product("SNES-CHRONO", price_cents=1, revision=1),  # late
    ]
    PRODUCT_CHANGES.many(uow, [wrap(e, correlation_id=e.sku) for e in events], lambda _e: pytest.fail("no scope"))
    assert uow.product_view.writes == 1
    assert uow.product_view.prices(["NES-SMB3", "SNES-CHRONO"]) == {"NES-SMB3": 4999, "SNES-CHRONO": 6999}
    assert uow.sent == []


def request(sku: str = "NES-SMB3", quantity: int = 1, key: str | None = None) -> PlaceOrderRequest:
    return PlaceOrderRequest("c-1", [(sku, quantity)], "pm_card_visa", idempotency_key=key)


def test_a_group_of_requests_is_placed_in_one_transaction_each_with_its_own_outcome() -> None:
    units = shop(product("NES-SMB3", price_cents=4999))
    requests = [request(), request(quantity=2, key="k-1"), request("NES-NOPE"), request(key="k-1"), request(key="k-2")]
    outcomes = services.place_orders(units, requests)

    assert (units.committed, units.rolled_back) == (1, 0)
    assert dict(units.uow.orders.calls) == {"by_idempotency_keys": 1, "add_many": 1}
    first, keyed, unknown, same_key, other = outcomes
    assert isinstance(unknown, UnknownProduct) and (unknown.index, unknown.sku) == (0, "NES-NOPE")
    assert isinstance(same_key, IdempotencyConflict)  # k-1 was taken by a different body just before it
    assert isinstance(first, tuple) and isinstance(keyed, tuple) and isinstance(other, tuple)
    placed = [first[0], keyed[0], other[0]]
    assert (first[1], keyed[1], other[1]) == (True, True, True)
    assert set(units.uow.orders.rows) == {o.order_id for o in placed}
    assert [e.order_id for e in units.uow.payloads(ORDER_EVENTS)] == [o.order_id for o in placed]


def test_identical_requests_with_one_key_in_one_group_get_one_order() -> None:
    units = shop(product("NES-SMB3"))
    outcomes = services.place_orders(units, [request(key="k"), request(key="k"), request(key="k")])
    assert [o[1] for o in outcomes if isinstance(o, tuple)] == [True, False, False]
    assert len({o[0].order_id for o in outcomes if isinstance(o, tuple)}) == 1
    assert len(units.uow.orders.rows) == 1
    assert len(units.uow.payloads(ORDER_EVENTS)) == 1


def test_a_group_that_loses_a_key_to_another_transaction_answers_with_that_order() -> None:
    units = shop(product("NES-SMB3"))
    winner = services.place_orders(shop(product("NES-SMB3")), [request(key="k")])[0]
    assert isinstance(winner, tuple)
    units.uow.orders.concurrent = [winner[0]]  # committed between the group's look-up and its insert
    outcomes = services.place_orders(units, [request(key="k"), request(), request(key="k", quantity=3)])

    same, other, different = outcomes
    assert same == (winner[0], False)
    assert isinstance(other, tuple) and other[1] is True
    assert isinstance(different, IdempotencyConflict)
    announced = units.uow.payloads(ORDER_EVENTS)
    assert [e.order_id for e in announced] == [other[0].order_id]  # the winner is announced by its own request
    assert all(isinstance(e, OrderPlaced) for e in announced)


def test_each_order_of_a_group_is_announced_in_its_own_requests_scope() -> None:
    units = shop(product("NES-SMB3"))
    sent_during: list[tuple[str, int, int]] = []

    @contextmanager
    def scope(request: PlaceOrderRequest) -> Iterator[None]:
        before = len(units.uow.sent)
        yield
        sent_during.append((request.customer_id, before, len(units.uow.sent)))

    requests = [PlaceOrderRequest(c, [("NES-SMB3", 1)], "pm_card_visa") for c in ("a", "b")]
    services.place_orders(units, [requests[0], request("NES-NOPE"), requests[1]], scope)
    assert sent_during == [("a", 0, 1), ("b", 1, 2)]  # the unknown sku's request announced nothing
