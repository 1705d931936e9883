"""Messages owned by the orders service."""

from __future__ import annotations

from contracts.base import Cents, Currency, CustomerId, Message, OrderId, PaymentMethod, PricedLines, Reason


class OrderPlaced(Message, frozen=True, kw_only=True):
    """A customer's order was accepted as PENDING; the coordinator starts its saga."""

    schema_version = 2
    order_id: OrderId
    customer_id: CustomerId
    lines: PricedLines
    total_cents: Cents
    currency: Currency
    payment_method: PaymentMethod


class ApproveOrder(Message, frozen=True, kw_only=True):
    """Every step succeeded: mark the order APPROVED."""

    schema_version = 2
    order_id: OrderId


class RejectOrder(Message, frozen=True, kw_only=True):
    """The saga rolled back: mark the order REJECTED with the reason."""

    schema_version = 2
    order_id: OrderId
    reason: Reason


class OrderApproved(Message, frozen=True, kw_only=True):
    """The order is APPROVED."""

    schema_version = 2
    order_id: OrderId


class OrderRejected(Message, frozen=True, kw_only=True):
    """The order is REJECTED."""

    schema_version = 2
    order_id: OrderId


OrdersCommand = ApproveOrder | RejectOrder
OrdersReply = OrderApproved | OrderRejected
OrdersEvent = OrderPlaced
