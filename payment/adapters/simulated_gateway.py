"""A payment gateway in process, for the benchmark: Stripe's answers without Stripe, at once or after a delay.

``RV_PAYMENT_GATEWAY=instant`` answers at once: what the saga machinery costs with the processor out of the
loop. ``RV_PAYMENT_GATEWAY=latency`` answers every call after ``RV_PAYMENT_GATEWAY_LATENCY_MS`` (default 200),
as real Stripe does, waiting on the event loop (no CPU, no thread): what a deployment sees. See
docs/performance.md. Both follow ``payment.ports.PaymentGateway`` with the card semantics the benchmark uses:
``pm_card_chargeCustomerFail`` (and any method with "Fail" or "decline" in it) is declined, a method with
"InsufficientFunds" in it declined for insufficient funds, anything else is charged; idempotency keys are
honoured as Stripe honours them (a repeated create returns the same intent, a repeated refund the same refund).
Intents live in memory only: never use it outside a benchmark.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from payment.domain.gateway import Confirmation
from payment.domain.payments import Payment

_DECLINING = ("Fail", "decline")
_INSUFFICIENT_FUNDS = "InsufficientFunds"


class SimulatedGateway:
    """``PaymentGateway`` with no network; each call answers after ``latency_s`` (0: at once)."""

    def __init__(self, latency_s: float = 0.0, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.latency_s = latency_s
        self._sleep = sleep
        self._ids = itertools.count(1)
        self._status: dict[str, str] = {}
        self._created: dict[str, str] = {}
        """intent id by the create's idempotency key"""
        self._refunds: dict[str, str] = {}
        """refund id by intent id"""

    async def _answer(self) -> None:
        """The processor's round trip: a timer on the event loop, nothing running meanwhile."""
        if self.latency_s > 0:
            await self._sleep(self.latency_s)

    async def create_intent(self, payment: Payment) -> str:
        """A new unconfirmed intent id; the same one again for the same idempotency key."""
        await self._answer()
        key = f"{payment.idempotency_key}:create"
        if key not in self._created:
            intent_id = f"pi_simulated_{next(self._ids)}_{payment.order_id}"
            self._created[key] = intent_id
            self._status[intent_id] = "requires_confirmation"
        return self._created[key]

    async def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        """Charge the intent, or decline a declining test card; an intent charged before stays charged once."""
        await self._answer()
        if self._status.get(intent_id) == "succeeded":
            return Confirmation(True)
        if _INSUFFICIENT_FUNDS in payment.payment_method:
            self._status[intent_id] = "requires_payment_method"
            return Confirmation(False, reason="Your card has insufficient funds.", decline_code="insufficient_funds")
        if any(word in payment.payment_method for word in _DECLINING):
            self._status[intent_id] = "requires_payment_method"
            return Confirmation(False, reason="Your card was declined.", decline_code="generic_decline")
        self._status[intent_id] = "succeeded"
        return Confirmation(True)

    async def cancel_unless_charged(self, intent_id: str) -> bool:
        """True if the intent was charged; otherwise it is cancelled."""
        await self._answer()
        if self._status.get(intent_id) == "succeeded":
            return True
        self._status[intent_id] = "canceled"
        return False

    async def refund(self, intent_id: str, idempotency_key: str) -> str:
        """Refund once per intent; a repeat returns the first refund's id."""
        await self._answer()
        return self._refunds.setdefault(intent_id, f"re_simulated_{idempotency_key}")
