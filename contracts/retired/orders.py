"""Retired versions of orders' messages (v1 of each: upgraded field by field to v2)."""

from __future__ import annotations

from contracts.base import Cents, Retired
from contracts.orders import ApproveOrder, OrderApproved, OrderPlaced, OrderRejected, RejectOrder
from contracts.retired.base import CurrencyV1, PricedLinesV1, ReasonV1, Up255V1, upgraded


class OrderPlacedV1(Retired, frozen=True, kw_only=True, tag="OrderPlaced"):
    """A customer's order was accepted as PENDING; the coordinator starts its saga."""

    schema_version = 1
    order_id: str
    customer_id: str
    lines: PricedLinesV1
    total_cents: Cents
    currency: CurrencyV1
    payment_method: Up255V1

    def upgrade(self) -> OrderPlaced:
        return upgraded(self, OrderPlaced)


class ApproveOrderV1(Retired, frozen=True, kw_only=True, tag="ApproveOrder"):
    """Every step succeeded: mark the order APPROVED."""

    schema_version = 1
    order_id: str

    def upgrade(self) -> ApproveOrder:
        return upgraded(self, ApproveOrder)


class RejectOrderV1(Retired, frozen=True, kw_only=True, tag="RejectOrder"):
    """The saga rolled back: mark the order REJECTED with the reason."""

    schema_version = 1
    order_id: str
    reason: ReasonV1

    def upgrade(self) -> RejectOrder:
        return upgraded(self, RejectOrder)


class OrderApprovedV1(Retired, frozen=True, kw_only=True, tag="OrderApproved"):
    """The order is APPROVED."""

    schema_version = 1
    order_id: str

    def upgrade(self) -> OrderApproved:
        return upgraded(self, OrderApproved)


class OrderRejectedV1(Retired, frozen=True, kw_only=True, tag="OrderRejected"):
    """The order is REJECTED."""

    schema_version = 1
    order_id: str

    def upgrade(self) -> OrderRejected:
        return upgraded(self, OrderRejected)
