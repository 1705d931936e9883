"""A payment gateway that answers at once, in process: the benchmark's way to take Stripe out of the loop.

Selected in the payment service with ``RV_PAYMENT_GATEWAY=instant`` (see docs/performance.md). It follows
the ``payment.ports.PaymentGateway`` protocol with the same card semantics the benchmark uses:
``pm_card_chargeCustomerFail`` (and any method with "Fail" or "decline" in it) is declined, anything else
is charged. Intents live in memory only: never use it outside a benchmark.
"""

from __future__ import annotations

import itertools
import threading

from payment.domain.gateway import Confirmation
from payment.domain.payments import Payment

_DECLINING = ("Fail", "decline")


class InstantGateway:
    """``PaymentGateway`` with no network and no waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._status: dict[str, str] = {}
        self._refunds: dict[str, str] = {}

    def create_intent(self, payment: Payment) -> str:
        """A new unconfirmed intent id."""
        with self._lock:
            intent_id = f"pi_instant_{next(self._ids)}_{payment.order_id}"
            self._status[intent_id] = "requires_confirmation"
        return intent_id

    def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        """Charge at once, or decline a declining test card."""
        with self._lock:
            if self._status.get(intent_id) == "succeeded":
                return Confirmation(True)
            if any(word in payment.payment_method for word in _DECLINING):
                self._status[intent_id] = "requires_payment_method"
                return Confirmation(False, reason="Your card was declined.", decline_code="generic_decline")
            self._status[intent_id] = "succeeded"
        return Confirmation(True)

    def cancel_unless_charged(self, intent_id: str) -> bool:
        """True if the intent was charged; otherwise it is cancelled."""
        with self._lock:
            if self._status.get(intent_id) == "succeeded":
                return True
            self._status[intent_id] = "canceled"
        return False

    def refund(self, intent_id: str, idempotency_key: str) -> str:
        """Refund once per intent; a repeat returns the first refund's id."""
        with self._lock:
            return self._refunds.setdefault(intent_id, f"re_instant_{idempotency_key}")
