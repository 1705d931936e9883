"""Messages owned by the payment service."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import (
    Cents,
    Currency,
    CustomerId,
    DeclineCode,
    IdempotencyKey,
    Message,
    OrderId,
    PaymentMethod,
    Reason,
    StripeId,
)


class ChargePayment(Message, frozen=True, kw_only=True):
    """Charge the order's total. ``idempotency_key`` is the same on every retry of this step."""

    schema_version = 2
    order_id: OrderId
    customer_id: CustomerId
    amount_cents: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
    currency: Currency
    payment_method: PaymentMethod
    idempotency_key: IdempotencyKey


class RefundPayment(Message, frozen=True, kw_only=True):
    """Compensation: refund the order's charge if there was one (a no-op otherwise)."""

    schema_version = 2
    order_id: OrderId
    idempotency_key: IdempotencyKey


class PaymentSucceeded(Message, frozen=True, kw_only=True):
    """The order was charged once."""

    schema_version = 2
    order_id: OrderId
    payment_intent_id: StripeId
    amount_cents: Cents


class PaymentDeclined(Message, frozen=True, kw_only=True):
    """The charge was declined; nothing was charged."""

    schema_version = 2
    order_id: OrderId
    reason: Reason
    decline_code: DeclineCode | None = None


class PaymentRefunded(Message, frozen=True, kw_only=True):
    """The order's charge (if any) has been refunded."""

    schema_version = 2
    order_id: OrderId
    refund_id: StripeId | None = None


PaymentCommand = ChargePayment | RefundPayment
PaymentReply = PaymentSucceeded | PaymentDeclined | PaymentRefunded
