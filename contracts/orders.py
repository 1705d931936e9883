"""Messages owned by the orders service."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Cents, Currency, Message, PricedLine, Reason
from contracts.payment import PaymentMethod

PricedLines = Annotated[list[PricedLine], msgspec.Meta(min_length=1, max_length=50)]


class OrderPlaced(Message, frozen=True, kw_only=True):
    """A customer's order was accepted as PENDING; the coordinator starts its saga."""

    order_id: str
    customer_id: str
    lines: PricedLines
    total_cents: Cents
    currency: Currency
    payment_method: PaymentMethod


class ApproveOrder(Message, frozen=True, kw_only=True):
    """Every step succeeded: mark the order APPROVED."""

    order_id: str


class RejectOrder(Message, frozen=True, kw_only=True):
    """The saga rolled back: mark the order REJECTED with the reason."""

    order_id: str
    reason: Reason


class OrderApproved(Message, frozen=True, kw_only=True):
    """The order is APPROVED."""

    order_id: str


class OrderRejected(Message, frozen=True, kw_only=True):
    """The order is REJECTED."""

    order_id: str


OrdersCommand = ApproveOrder | RejectOrder
OrdersReply = OrderApproved | OrderRejected
OrdersEvent = OrderPlaced
