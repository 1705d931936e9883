"""Orders' use cases. A use case called from a message runs in the consumer's batch transaction;
one called over HTTP opens its own unit of work here."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.base import PricedLine
from contracts.catalog import ProductChanged
from contracts.envelope import Envelope, wrap
from contracts.orders import ApproveOrder, OrderApproved, OrderPlaced, OrderRejected, RejectOrder
from contracts.topics import ORDER_EVENTS
from orders.domain.orders import InvalidTransition, Order
from orders.domain.pricing import UnknownProduct, price_lines
from orders.ports import OrdersUnitOfWork
from plumbing.errors import NotFound, Unprocessable
from plumbing.routing import Scope
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


Placed = tuple[Order, bool]
"""An order and whether this request created it (False: an earlier request with its Idempotency-Key did)."""
RequestScope = Callable[[PlaceOrderRequest], AbstractContextManager[None]]
"""Enters one request's own context (its trace) in a group of requests."""


def _unscoped(_request: PlaceOrderRequest) -> AbstractContextManager[None]:
    return nullcontext()


def place_order(units: UnitsOfWork[OrdersUnitOfWork], request: PlaceOrderRequest) -> Placed:
    """Store the order as PENDING with its OrderPlaced event, in one transaction; returns (order, created).

    With an Idempotency-Key seen before, returns the earlier order (created=False) if the request is
    the same and raises ``IdempotencyConflict`` if it is not; so do simultaneous requests with one key: one
    order is stored and announced, the others get it. Raises ``UnknownProduct`` for a sku the product view
    does not know.
    """
    with units.begin() as uow:
        (outcome,) = _place_all(uow, [request])
        if isinstance(outcome, Exception):
            raise outcome
    return outcome


def place_orders(
    units: UnitsOfWork[OrdersUnitOfWork], requests: list[PlaceOrderRequest], scope: RequestScope = _unscoped
) -> list[Placed | Exception]:
    """Place several requests' orders in one transaction (a group commit); each request's outcome is its own,
    in order: what ``place_order`` would return, or the ``UnknownProduct`` or ``IdempotencyConflict`` it would
    raise, which leaves the others placed. Requests of the group with the same Idempotency-Key get one order,
    as if they came one after the other. Each order's OrderPlaced is sent in ``scope(request)`` (its request's
    trace). Raises only what fails the whole transaction.
    """
    with units.begin() as uow:
        return _place_all(uow, requests, scope)


def _place_all(
    uow: OrdersUnitOfWork, requests: list[PlaceOrderRequest], scope: RequestScope = _unscoped
) -> list[Placed | Exception]:
    keys = {r.idempotency_key for r in requests if r.idempotency_key is not None}
    held = uow.orders.by_idempotency_keys(keys) if keys else {}
    prices = uow.product_view.prices(sku for r in requests for sku, _ in r.lines)
    new: list[tuple[PlaceOrderRequest, Order]] = []
    outcomes = [_place(request, held, prices, new) for request in requests]
    added = uow.orders.add_many(order for _, order in new)
    lost = {o.idempotency_key for _, o in new if o.order_id not in added and o.idempotency_key is not None}
    if lost:
        # Simultaneous requests with these keys committed their orders since we looked: those are the orders,
        # announced by their own requests (each statement sees what was committed before it, so they are found).
        winners = uow.orders.by_idempotency_keys(lost)
        assert set(winners) == lost, "an order holding each key was committed"
        outcomes = [_recheck(request, outcome, winners) for request, outcome in zip(requests, outcomes, strict=True)]
    for request, order in new:
        if order.order_id in added:
            with scope(request):
                _announce(uow, order)
    return outcomes


def _place(
    request: PlaceOrderRequest,
    held: dict[str, Order],
    prices: dict[str, int],
    new: list[tuple[PlaceOrderRequest, Order]],
) -> Placed | Exception:
    """One request's order, appended to ``new`` (and to ``held`` under its key) unless an order holds its key."""
    key = request.idempotency_key
    if key is not None and key in held:
        return _same(request, held[key])
    try:
        lines = price_lines(request.lines, prices)
    except UnknownProduct as error:
        return error
    order = Order(
        order_id=str(uuid.uuid4()),
        customer_id=request.customer_id,
        payment_method=request.payment_method,
        lines=lines,
        idempotency_key=key,
        request_fingerprint=request.fingerprint(),
    )
    new.append((request, order))
    if key is not None:
        held[key] = order
    return order, True


def _recheck(request: PlaceOrderRequest, outcome: Placed | Exception, winners: dict[str, Order]) -> Placed | Exception:
    """A request's outcome once another transaction's order is known to hold its key (looked up first, as alone)."""
    key = request.idempotency_key
    return _same(request, winners[key]) if key is not None and key in winners else outcome


def _same(request: PlaceOrderRequest, earlier: Order) -> Placed | Exception:
    """The order placed earlier with the request's key; ``IdempotencyConflict`` if a different request placed it."""
    if earlier.request_fingerprint != request.fingerprint():
        return IdempotencyConflict(request.idempotency_key)
    return earlier, False


def get_order(units: UnitsOfWork[OrdersUnitOfWork], order_id: str) -> OrderRecord:
    """One order with its timestamps; ``UnknownOrder`` if there is none."""
    with units.read() as uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise UnknownOrder(order_id)
        created_at, updated_at = uow.orders.timestamps(order_id)
    return OrderRecord(order, created_at, updated_at)


def customer_orders(units: UnitsOfWork[OrdersUnitOfWork], customer_id: str, limit: int) -> list[OrderRecord]:
    """A customer's ``limit`` newest orders, newest first (none: an empty list)."""
    with units.read() as uow:
        return [OrderRecord(*found) for found in uow.orders.for_customer(customer_id, limit)]


def decide_orders(uow: OrdersUnitOfWork, commands: list[Envelope[Any]], scope: Scope) -> None:
    """Apply a batch's ``ApproveOrder`` and ``RejectOrder`` commands in order, replying to each in its scope.

    The batch's orders are locked together (in order id order, as every writer locks them) and their statuses
    written once at the end. ``Unprocessable`` for an unknown order or a decided one asked to change its mind:
    the consumer then applies the batch one message at a time and dead-letters that one.
    """
    held = uow.orders.lock_many(command.payload.order_id for command in commands)
    decided: dict[str, Order] = {}
    for command in commands:
        with scope(command):
            order = _decide(held, command.payload)
            decided[order.order_id] = order
            uow.reply(command, _decision_reply(command.payload))
    uow.orders.save_statuses(decided.values())


def approve_order(uow: OrdersUnitOfWork, command: ApproveOrder) -> OrderApproved:
    """Mark the order APPROVED (again is a no-op); ``Unprocessable`` if it is unknown or was rejected."""
    order = _decide(uow.orders.lock_many([command.order_id]), command)
    uow.orders.save_statuses([order])
    return OrderApproved(order_id=order.order_id)


def reject_order(uow: OrdersUnitOfWork, command: RejectOrder) -> OrderRejected:
    """Mark the order REJECTED with the saga's reason (again keeps the first reason); ``Unprocessable`` if it
    is unknown or was approved."""
    order = _decide(uow.orders.lock_many([command.order_id]), command)
    uow.orders.save_statuses([order])
    return OrderRejected(order_id=order.order_id)


def apply_product_changes(uow: OrdersUnitOfWork, products: list[ProductChanged]) -> None:
    """Keep the local product view in step with the catalogue: the newest revision of each product wins (an
    older one than the view's is ignored), in one write."""
    latest: dict[str, ProductChanged] = {}
    for product in products:
        seen = latest.get(product.sku)
        if seen is None or seen.revision <= product.revision:
            latest[product.sku] = product
    uow.product_view.upsert_many(latest.values())


def ready(uow: OrdersUnitOfWork) -> str | None:
    """What orders still waits for before it can take orders: it cannot price anything until its product
    view has been filled from the catalog's events."""
    return None if uow.product_view.count() > 0 else "product view is empty"


def _decide(held: dict[str, Order], command: ApproveOrder | RejectOrder) -> Order:
    """Apply the saga's decision to its (locked) order."""
    order = held.get(command.order_id)
    if order is None:
        raise Unprocessable(f"no order {command.order_id}")
    try:
        if isinstance(command, ApproveOrder):
            order.approve()
        else:
            order.reject(command.reason)
    except InvalidTransition as error:
        raise Unprocessable(str(error)) from error
    return order


def _decision_reply(command: ApproveOrder | RejectOrder) -> OrderApproved | OrderRejected:
    if isinstance(command, ApproveOrder):
        return OrderApproved(order_id=command.order_id)
    return OrderRejected(order_id=command.order_id)


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
