"""Orders' message handlers, and the table that routes each message type to one."""

from __future__ import annotations

from contracts.catalog import ProductChanged
from contracts.envelope import Envelope
from contracts.orders import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from contracts.topics import ORDERS_COMMANDS, PRODUCT_EVENTS
from orders.adapters.repository import OrdersRepository
from orders.domain.orders import InvalidTransition, Order
from plumbing.consumer import Routes
from plumbing.errors import Unprocessable
from plumbing.unit_of_work import UnitOfWork


def _order(repo: OrdersRepository, order_id: str) -> Order:
    order = repo.get(order_id, for_update=True)
    if order is None:
        raise Unprocessable(f"no order {order_id}")
    return order


def approve_order(uow: UnitOfWork, command: Envelope[ApproveOrder]) -> None:
    """Mark the order APPROVED and confirm."""
    repo = OrdersRepository(uow.conn)
    order = _order(repo, command.payload.order_id)
    try:
        order.approve()
    except InvalidTransition as error:
        raise Unprocessable(str(error)) from error
    repo.save_status(order)
    uow.reply(command, OrderApproved(order_id=order.order_id))


def reject_order(uow: UnitOfWork, command: Envelope[RejectOrder]) -> None:
    """Mark the order REJECTED with the saga's reason and confirm."""
    repo = OrdersRepository(uow.conn)
    order = _order(repo, command.payload.order_id)
    try:
        order.reject(command.payload.reason)
    except InvalidTransition as error:
        raise Unprocessable(str(error)) from error
    repo.save_status(order)
    uow.reply(command, OrderRejected(order_id=order.order_id))


def product_changed(uow: UnitOfWork, event: Envelope[ProductChanged]) -> None:
    """Keep the local product view in step with the catalogue."""
    OrdersRepository(uow.conn).upsert_product(event.payload)


ROUTES: Routes = {
    ORDERS_COMMANDS.name: {
        "ApproveOrder": approve_order,
        "RejectOrder": reject_order,
    },
    PRODUCT_EVENTS.name: {
        "ProductChanged": product_changed,
    },
}
