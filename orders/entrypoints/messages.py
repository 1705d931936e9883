"""Orders' message handlers, and the table that routes each message type to one."""

from __future__ import annotations

from contracts.catalog import ProductChanged
from contracts.envelope import Envelope
from contracts.orders import ApproveOrder, RejectOrder
from contracts.topics import ORDERS_COMMANDS, PRODUCT_EVENTS
from orders import services
from orders.ports import OrdersUnitOfWork
from plumbing.routing import Routes


def approve_order(uow: OrdersUnitOfWork, command: Envelope[ApproveOrder]) -> None:
    """Mark the order APPROVED; reply OrderApproved."""
    uow.reply(command, services.approve_order(uow, command.payload))


def reject_order(uow: OrdersUnitOfWork, command: Envelope[RejectOrder]) -> None:
    """Mark the order REJECTED with the saga's reason; reply OrderRejected."""
    uow.reply(command, services.reject_order(uow, command.payload))


def product_changed(uow: OrdersUnitOfWork, event: Envelope[ProductChanged]) -> None:
    """Keep the local product view in step with the catalogue."""
    services.apply_product_change(uow, event.payload)


ROUTES: Routes[OrdersUnitOfWork] = {
    ORDERS_COMMANDS.name: {
        "ApproveOrder": approve_order,
        "RejectOrder": reject_order,
    },
    PRODUCT_EVENTS.name: {
        "ProductChanged": product_changed,
    },
}
