"""The ports payment depends on: a card processor and durable payment records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from payment.domain.payments import Payment


class GatewayUnavailable(Exception):
    """The processor could not be reached or failed on its side; the same call may succeed later."""


@dataclass(frozen=True)
class Confirmation:
    """The outcome of confirming a PaymentIntent: succeeded, or declined with a reason."""

    succeeded: bool
    reason: str | None = None
    decline_code: str | None = None


class PaymentGateway(Protocol):
    """What payment needs from a card processor. Every call is safe to repeat."""

    def create_intent(self, payment: Payment) -> str:
        """Create an unconfirmed PaymentIntent (charges nothing); returns its id."""
        ...

    def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        """Confirm the intent (charge it); an intent that already succeeded is reported as succeeded."""
        ...

    def cancel_unless_charged(self, intent_id: str) -> bool:
        """True if the intent was charged; otherwise cancel it so it never can be, and return False."""
        ...

    def refund(self, intent_id: str, idempotency_key: str) -> str:
        """Refund the intent's charge in full, unless it already was; returns the refund id."""
        ...


class PaymentRecords(Protocol):
    """Where payments and their progress are kept; every change is durable when the call returns."""

    def open(self, payment: Payment) -> Payment:
        """Record a new payment, or return the one this order already has."""
        ...

    def find(self, order_id: str) -> Payment | None:
        """The order's payment, or None."""
        ...

    def update(self, payment: Payment, **changes: Any) -> Payment:
        """Apply and persist changes to a payment."""
        ...
