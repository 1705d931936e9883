"""Placing an order: validate, price, store as PENDING and announce it, in one transaction."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from contracts.base import PricedLine
from contracts.envelope import wrap
from contracts.orders import OrderPlaced
from contracts.topics import ORDER_EVENTS
from orders.adapters.repository import OrdersRepository
from orders.domain.orders import Order
from orders.domain.pricing import price_lines
from plumbing.unit_of_work import UnitOfWork


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request."""


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


def place_order(uow: UnitOfWork, request: PlaceOrderRequest) -> tuple[Order, bool]:
    """Store the order as PENDING with its OrderPlaced event; returns (order, created).

    With an Idempotency-Key seen before, returns the earlier order (created=False) if the request is
    the same and raises ``IdempotencyConflict`` if it is not. Raises ``UnknownProduct`` for a sku the
    product view does not know.
    """
    repo = OrdersRepository(uow.conn)
    if request.idempotency_key is not None:
        earlier = repo.by_idempotency_key(request.idempotency_key)
        if earlier is not None:
            if earlier.request_fingerprint != request.fingerprint():
                raise IdempotencyConflict(request.idempotency_key)
            return earlier, False
    lines = price_lines(request.lines, repo.prices(sku for sku, _ in request.lines))
    order = Order(
        order_id=str(uuid.uuid4()),
        customer_id=request.customer_id,
        payment_method=request.payment_method,
        lines=lines,
        idempotency_key=request.idempotency_key,
        request_fingerprint=request.fingerprint(),
    )
    repo.add(order)
    event = OrderPlaced(
        order_id=order.order_id,
        customer_id=order.customer_id,
        lines=[PricedLine(sku=x.sku, quantity=x.quantity, unit_price_cents=x.unit_price_cents) for x in lines],
        total_cents=order.total_cents,
        currency=order.currency,
        payment_method=order.payment_method,
    )
    uow.publish(ORDER_EVENTS, wrap(event, correlation_id=order.order_id), key=order.order_id)
    return order, True
