"""A payment for one order and the states it passes through."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PaymentStatus(StrEnum):
    """PENDING while being charged; then SUCCEEDED or DECLINED; REFUNDING/REFUNDED after a refund.

    CANCELLED records a refund that arrived before any charge, so a late charge is refused.
    """

    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    REFUNDING = "REFUNDING"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


@dataclass
class Payment:
    """One order's payment: what was asked, the PaymentIntent that carries it, and how it ended."""

    order_id: str
    idempotency_key: str
    amount_cents: int
    currency: str
    payment_method: str
    status: PaymentStatus = PaymentStatus.PENDING
    intent_id: str | None = None
    decline_reason: str | None = None
    decline_code: str | None = None
    refund_id: str | None = None

    @classmethod
    def refused_before_charge(cls, order_id: str, idempotency_key: str) -> Payment:
        """The payment of an order whose refund came before any charge: cancelled for good, so a charge arriving
        later charges nothing."""
        return cls(order_id, idempotency_key, 0, "usd", "", status=PaymentStatus.CANCELLED)
