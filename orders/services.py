"""Orders' use cases. A use case called from a message runs in the consumer's batch transaction;
one called over HTTP opens its own unit of work here."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from contracts.base import PricedLine
from contracts.catalog import ProductChanged
from contracts.envelope import wrap
from contracts.orders import ApproveOrder, OrderApproved, OrderPlaced, OrderRejected, RejectOrder
from contracts.topics import ORDER_EVENTS
from orders.domain.orders import InvalidTransition, Order
from orders.domain.pricing import price_lines
from orders.ports import OrdersUnitOfWork
from plumbing.errors import NotFound, Unprocessable
from plumbing.unit_of_work import UnitsOfWork


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request."""


class UnknownOrder(NotFound):
    """No order has this id."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id!r}")


@dataclass(frozen=True)
class PlaceOrderRequest:
    """What a customer asks for; already checked against the HTTP contract."""

    customer_id: str
    lines: list[tuple[str, int]]
    payment_method: str
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """A digest of the request's content, to tell a retry from a different request."""
        canonical = repr((self.customer_id, self.lines, self.payment_method))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class OrderRecord:
    """An order with when it was placed and last changed."""

    order: Order
    created_at: datetime
    updated_at: datetime


def place_order(units: UnitsOfWork[OrdersUnitOfWork], request: PlaceOrderRequest) -> tuple[Order, bool]:
    """Store the order as PENDING with its OrderPlaced event, in one transaction; returns (order, created).

    With an Idempotency-Key seen before, returns the earlier order (created=False) if the request is
    the same and raises ``IdempotencyConflict`` if it is not; so do simultaneous requests with one key: one
    order is stored and announced, the others get it. Raises ``UnknownProduct`` for a sku the product view
    does not know.
    """
    with units.begin() as uow:
        earlier = _placed_before(uow, request)
        if earlier is not None:
            return earlier, False
        lines = price_lines(request.lines, uow.product_view.prices(sku for sku, _ in request.lines))
        order = Order(
            order_id=str(uuid.uuid4()),
            customer_id=request.customer_id,
            payment_method=request.payment_method,
            lines=lines,
            idempotency_key=request.idempotency_key,
            request_fingerprint=request.fingerprint(),
        )
        if not uow.orders.add(order):
            # A simultaneous request with the same key committed its order since we looked: that one is the order,
            # announced by its own request (each statement sees what was committed before it, so it is found now).
            winner = _placed_before(uow, request)
            assert winner is not None, "an order holding the key was committed"
            return winner, False
        _announce(uow, order)
    return order, True


def _placed_before(uow: OrdersUnitOfWork, request: PlaceOrderRequest) -> Order | None:
    """The order placed earlier with the request's Idempotency-Key, if any; ``IdempotencyConflict`` if it was
    placed by a different request."""
    if request.idempotency_key is None:
        return None
    earlier = uow.orders.by_idempotency_key(request.idempotency_key)
    if earlier is not None and earlier.request_fingerprint != request.fingerprint():
        raise IdempotencyConflict(request.idempotency_key)
    return earlier


def get_order(units: UnitsOfWork[OrdersUnitOfWork], order_id: str) -> OrderRecord:
    """One order with its timestamps; ``UnknownOrder`` if there is none."""
    with units.read() as uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise UnknownOrder(order_id)
        created_at, updated_at = uow.orders.timestamps(order_id)
    return OrderRecord(order, created_at, updated_at)


def approve_order(uow: OrdersUnitOfWork, command: ApproveOrder) -> OrderApproved:
    """Mark the order APPROVED (again is a no-op); ``Unprocessable`` if it is unknown or was rejected."""
    order = _decide(uow, command.order_id, Order.approve)
    return OrderApproved(order_id=order.order_id)


def reject_order(uow: OrdersUnitOfWork, command: RejectOrder) -> OrderRejected:
    """Mark the order REJECTED with the saga's reason (again keeps the first reason); ``Unprocessable`` if it
    is unknown or was approved."""
    order = _decide(uow, command.order_id, lambda o: o.reject(command.reason))
    return OrderRejected(order_id=order.order_id)


def apply_product_change(uow: OrdersUnitOfWork, product: ProductChanged) -> None:
    """Keep the local product view in step with the catalogue (an older revision than the view's is ignored)."""
    uow.product_view.upsert(product)


def ready(uow: OrdersUnitOfWork) -> str | None:
    """What orders still waits for before it can take orders: it cannot price anything until its product
    view has been filled from the catalog's events."""
    return None if uow.product_view.count() > 0 else "product view is empty"


def _decide(uow: OrdersUnitOfWork, order_id: str, decision: Callable[[Order], None]) -> Order:
    """Lock the order, apply the saga's decision to it and save its status."""
    order = uow.orders.lock(order_id)
    if order is None:
        raise Unprocessable(f"no order {order_id}")
    try:
        decision(order)
    except InvalidTransition as error:
        raise Unprocessable(str(error)) from error
    uow.orders.save_status(order)
    return order


def _announce(uow: OrdersUnitOfWork, order: Order) -> None:
    """Publish OrderPlaced, which starts the order's saga."""
    event = OrderPlaced(
        order_id=order.order_id,
        customer_id=order.customer_id,
        lines=[PricedLine(sku=x.sku, quantity=x.quantity, unit_price_cents=x.unit_price_cents) for x in order.lines],
        total_cents=order.total_cents,
        currency=order.currency,
        payment_method=order.payment_method,
    )
    uow.publish(ORDER_EVENTS, wrap(event, correlation_id=order.order_id), key=order.order_id)
