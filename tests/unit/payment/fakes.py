"""Payment's ports in memory."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

from contracts.payment import ChargePayment
from payment.domain.gateway import Confirmation, Declined, GatewayUnavailable
from payment.domain.payments import Payment
from tests.unit.fakes import FakeMessages, FakeUnitsOfWork


class FakeRecords:
    """``payment.ports.PaymentRecords`` in a dict; hands out copies, as a database would."""

    def __init__(self) -> None:
        self.rows: dict[str, Payment] = {}

    def open(self, payment: Payment) -> Payment:
        self.rows.setdefault(payment.order_id, dataclasses.replace(payment))
        return dataclasses.replace(self.rows[payment.order_id])

    def find(self, order_id: str) -> Payment | None:
        row = self.rows.get(order_id)
        return dataclasses.replace(row) if row else None

    def update(self, payment: Payment, **changes: Any) -> Payment:
        for name, value in changes.items():
            setattr(payment, name, value)
        self.rows[payment.order_id] = dataclasses.replace(payment)
        return payment


DECLINING_CARD = "pm_card_chargeCustomerFail"
"""Stripe's test card whose charges are declined."""

UNKNOWN_METHOD = "pm_no_such_method"
"""A payment method Stripe does not know: it refuses to create an intent for it."""


class FakeGateway:
    """``payment.ports.PaymentGateway``: charges every card but ``DECLINING_CARD`` unless told to decline all, and
    refuses ``UNKNOWN_METHOD``; ``fail_next`` makes one call (``"create"``, ``"confirm"`` or ``"cancel"``) raise
    ``failure`` (``GatewayUnavailable`` unless told otherwise)."""

    def __init__(self, *, decline: bool = False) -> None:
        self.decline = decline
        self.intents: dict[str, str] = {}
        self.charges: list[str] = []
        self.refunds: list[str] = []
        self.fail_next: str | None = None
        self.failure: Callable[[str], Exception] = GatewayUnavailable
        self._ids = itertools.count(1)  # next() is atomic: orders may be charged from several threads

    def _maybe_fail(self, call: str) -> None:
        if self.fail_next == call:
            self.fail_next = None
            raise self.failure(call)

    def create_intent(self, payment: Payment) -> str:
        self._maybe_fail("create")
        if payment.payment_method == UNKNOWN_METHOD:
            raise Declined(f"No such PaymentMethod: '{UNKNOWN_METHOD}' (resource_missing)", "resource_missing")
        intent = f"pi_{next(self._ids)}"
        self.intents[intent] = "requires_confirmation"
        return intent

    def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        self._maybe_fail("confirm")
        if self.intents[intent_id] == "succeeded":
            return Confirmation(True)
        if self.decline or payment.payment_method == DECLINING_CARD:
            return Confirmation(False, reason="Your card was declined.", decline_code="card_declined")
        self.intents[intent_id] = "succeeded"
        self.charges.append(intent_id)
        return Confirmation(True)

    def cancel_unless_charged(self, intent_id: str) -> bool:
        self._maybe_fail("cancel")
        if self.intents[intent_id] == "succeeded":
            return True
        self.intents[intent_id] = "canceled"
        return False

    def refund(self, intent_id: str, idempotency_key: str) -> str:
        if intent_id not in self.refunds:
            self.refunds.append(intent_id)
        return f"re_{intent_id}"


class FakePaymentUnitOfWork(FakeMessages):
    """``payment.ports.PaymentUnitOfWork`` in memory."""

    def __init__(self, gateway: FakeGateway | None = None) -> None:
        super().__init__()
        self.payments = FakeRecords()
        self.gateway = gateway or FakeGateway()


def payments(uow: FakePaymentUnitOfWork | None = None) -> FakeUnitsOfWork[FakePaymentUnitOfWork]:
    """Units of work over ``uow`` (by default one with no payments yet)."""
    return FakeUnitsOfWork(uow or FakePaymentUnitOfWork())


def charge(order_id: str, method: str = "pm_card_visa") -> ChargePayment:
    """The coordinator's command to charge ``order_id`` 44.99 USD."""
    return ChargePayment(
        order_id=order_id,
        customer_id="c-1",
        amount_cents=4499,
        currency="usd",
        payment_method=method,
        idempotency_key=f"{order_id}:charge_payment",
    )
