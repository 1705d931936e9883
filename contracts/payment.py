"""Messages owned by the payment service."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Cents, Currency, Message, Reason

PaymentMethod = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
IdempotencyKey = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class ChargePayment(Message, frozen=True, kw_only=True):
    """Charge the order's total. ``idempotency_key`` is the same on every retry of this step."""

    order_id: str
    customer_id: str
    amount_cents: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
    currency: Currency
    payment_method: PaymentMethod
    idempotency_key: IdempotencyKey


class RefundPayment(Message, frozen=True, kw_only=True):
    """Compensation: refund the order's charge if there was one (a no-op otherwise)."""

    order_id: str
    idempotency_key: IdempotencyKey


class PaymentSucceeded(Message, frozen=True, kw_only=True):
    """The order was charged once."""

    order_id: str
    payment_intent_id: str
    amount_cents: Cents


class PaymentDeclined(Message, frozen=True, kw_only=True):
    """The charge was declined; nothing was charged."""

    order_id: str
    reason: Reason
    decline_code: str | None = None


class PaymentRefunded(Message, frozen=True, kw_only=True):
    """The order's charge (if any) has been refunded."""

    order_id: str
    refund_id: str | None = None


PaymentCommand = ChargePayment | RefundPayment
PaymentReply = PaymentSucceeded | PaymentDeclined | PaymentRefunded
