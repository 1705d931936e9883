"""An order and the only ways its status may change."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrderStatus(StrEnum):
    """PENDING until its saga decides; then APPROVED or REJECTED for good."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class InvalidTransition(Exception):
    """A decided order was asked to change its mind."""


@dataclass(frozen=True)
class OrderLine:
    """A product, how many, and the unit price the order was placed at."""

    sku: str
    quantity: int
    unit_price_cents: int


@dataclass
class Order:
    """A customer's order."""

    order_id: str
    customer_id: str
    payment_method: str
    lines: list[OrderLine]
    currency: str = "usd"
    status: OrderStatus = OrderStatus.PENDING
    reason: str | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = None

    @property
    def total_cents(self) -> int:
        """What the order costs."""
        return sum(line.quantity * line.unit_price_cents for line in self.lines)

    def approve(self) -> None:
        """PENDING -> APPROVED (approving twice is a no-op)."""
        if self.status is OrderStatus.REJECTED:
            raise InvalidTransition(f"order {self.order_id} is REJECTED and cannot be approved")
        self.status = OrderStatus.APPROVED

    def reject(self, reason: str) -> None:
        """PENDING -> REJECTED with a reason (rejecting twice is a no-op)."""
        if self.status is OrderStatus.APPROVED:
            raise InvalidTransition(f"order {self.order_id} is APPROVED and cannot be rejected")
        if self.status is OrderStatus.PENDING:
            self.status = OrderStatus.REJECTED
            self.reason = reason
