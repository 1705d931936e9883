"""Retired versions of payment's messages (v1 of each: upgraded field by field to v2)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Cents, Retired
from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.retired.base import CurrencyV1, ReasonV1, Up255V1, upgraded


class ChargePaymentV1(Retired, frozen=True, kw_only=True, tag="ChargePayment"):
    """Charge the order's total. ``idempotency_key`` is the same on every retry of this step."""

    schema_version = 1
    order_id: str
    customer_id: str
    amount_cents: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
    currency: CurrencyV1
    payment_method: Up255V1
    idempotency_key: Up255V1

    def upgrade(self) -> ChargePayment:
        return upgraded(self, ChargePayment)


class RefundPaymentV1(Retired, frozen=True, kw_only=True, tag="RefundPayment"):
    """Compensation: refund the order's charge if there was one (a no-op otherwise)."""

    schema_version = 1
    order_id: str
    idempotency_key: Up255V1

    def upgrade(self) -> RefundPayment:
        return upgraded(self, RefundPayment)


class PaymentSucceededV1(Retired, frozen=True, kw_only=True, tag="PaymentSucceeded"):
    """The order was charged once."""

    schema_version = 1
    order_id: str
    payment_intent_id: str
    amount_cents: Cents

    def upgrade(self) -> PaymentSucceeded:
        return upgraded(self, PaymentSucceeded)


class PaymentDeclinedV1(Retired, frozen=True, kw_only=True, tag="PaymentDeclined"):
    """The charge was declined; nothing was charged."""

    schema_version = 1
    order_id: str
    reason: ReasonV1
    decline_code: str | None = None

    def upgrade(self) -> PaymentDeclined:
        return upgraded(self, PaymentDeclined)


class PaymentRefundedV1(Retired, frozen=True, kw_only=True, tag="PaymentRefunded"):
    """The order's charge (if any) has been refunded."""

    schema_version = 1
    order_id: str
    refund_id: str | None = None

    def upgrade(self) -> PaymentRefunded:
        return upgraded(self, PaymentRefunded)
