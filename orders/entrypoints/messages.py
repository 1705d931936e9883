"""Orders' message handlers, and the table that routes each message type to one."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from contracts.topics import ORDERS_COMMANDS, PRODUCT_EVENTS
from orders import services
from orders.ports import OrdersUnitOfWork
from plumbing.routing import Batched, Routes, Scope


def decide_orders(uow: OrdersUnitOfWork, commands: list[Envelope[Any]], scope: Scope) -> None:
    """Mark a batch's orders APPROVED or REJECTED (with the saga's reason), their rows locked together; reply
    to each (OrderApproved, OrderRejected)."""
    services.decide_orders(uow, commands, scope)


def products_changed(uow: OrdersUnitOfWork, events: list[Envelope[Any]], _scope: Scope) -> None:
    """Keep the local product view in step with the catalogue: a batch's events in one write."""
    services.apply_product_changes(uow, [event.payload for event in events])


DECISIONS: Batched[OrdersUnitOfWork] = Batched(many=decide_orders)
PRODUCT_CHANGES: Batched[OrdersUnitOfWork] = Batched(many=products_changed)

ROUTES: Routes[OrdersUnitOfWork] = {
    ORDERS_COMMANDS.name: {
        "ApproveOrder": DECISIONS,
        "RejectOrder": DECISIONS,
    },
    PRODUCT_EVENTS.name: {
        "ProductChanged": PRODUCT_CHANGES,
    },
}
