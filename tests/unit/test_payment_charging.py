"""Charging and refunding with a fake gateway: a repeat at any point never charges twice."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from contracts.payment import ChargePayment, RefundPayment
from payment import charging
from payment.domain.gateway import Confirmation, GatewayUnavailable
from payment.domain.payments import Payment, PaymentStatus


class FakeRecords:
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


class FakeGateway:
    def __init__(self, *, decline: bool = False) -> None:
        self.decline = decline
        self.intents: dict[str, str] = {}
        self.charges: list[str] = []
        self.refunds: list[str] = []
        self.fail_next: str | None = None

    def _maybe_fail(self, call: str) -> None:
        if self.fail_next == call:
            self.fail_next = None
            raise GatewayUnavailable(call)

    def create_intent(self, payment: Payment) -> str:
        self._maybe_fail("create")
        intent = f"pi_{len(self.intents) + 1}"
        self.intents[intent] = "requires_confirmation"
        return intent

    def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        self._maybe_fail("confirm")
        if self.intents[intent_id] == "succeeded":
            return Confirmation(True)
        if self.decline:
            return Confirmation(False, reason="Your card was declined.", decline_code="card_declined")
        self.intents[intent_id] = "succeeded"
        self.charges.append(intent_id)
        return Confirmation(True)

    def cancel_unless_charged(self, intent_id: str) -> bool:
        if self.intents[intent_id] == "succeeded":
            return True
        self.intents[intent_id] = "canceled"
        return False

    def refund(self, intent_id: str, idempotency_key: str) -> str:
        if intent_id not in self.refunds:
            self.refunds.append(intent_id)
        return f"re_{intent_id}"


CHARGE = ChargePayment(
    order_id="o-1",
    customer_id="c-1",
    amount_cents=4499,
    currency="usd",
    payment_method="pm_card_visa",
    idempotency_key="saga:charge_payment",
)
REFUND = RefundPayment(order_id="o-1", idempotency_key="saga:refund_payment")


def test_a_charge_succeeds_once_and_a_repeat_does_not_charge_again() -> None:
    records, gateway = FakeRecords(), FakeGateway()
    assert charging.charge(records, gateway, CHARGE).status is PaymentStatus.SUCCEEDED
    assert charging.charge(records, gateway, CHARGE).status is PaymentStatus.SUCCEEDED
    assert gateway.charges == ["pi_1"] and list(gateway.intents) == ["pi_1"]


def test_a_decline_is_recorded_with_its_reason() -> None:
    records, gateway = FakeRecords(), FakeGateway(decline=True)
    payment = charging.charge(records, gateway, CHARGE)
    assert payment.status is PaymentStatus.DECLINED
    assert payment.decline_code == "card_declined" and payment.decline_reason == "Your card was declined."
    assert gateway.charges == []


def test_an_outage_after_the_intent_was_created_resumes_with_the_same_intent() -> None:
    records, gateway = FakeRecords(), FakeGateway()
    gateway.fail_next = "confirm"
    with pytest.raises(GatewayUnavailable):
        charging.charge(records, gateway, CHARGE)
    assert records.rows["o-1"].intent_id == "pi_1" and records.rows["o-1"].status is PaymentStatus.PENDING
    assert charging.charge(records, gateway, CHARGE).status is PaymentStatus.SUCCEEDED
    assert list(gateway.intents) == ["pi_1"] and gateway.charges == ["pi_1"]


def test_a_crash_after_confirm_but_before_recording_is_not_charged_twice() -> None:
    records, gateway = FakeRecords(), FakeGateway()
    charging.charge(records, gateway, CHARGE)
    records.rows["o-1"].status = PaymentStatus.PENDING  # as if the process died before storing the outcome
    assert charging.charge(records, gateway, CHARGE).status is PaymentStatus.SUCCEEDED
    assert gateway.charges == ["pi_1"]


def test_a_refund_refunds_a_succeeded_charge_once() -> None:
    records, gateway = FakeRecords(), FakeGateway()
    charging.charge(records, gateway, CHARGE)
    assert charging.refund(records, gateway, REFUND).status is PaymentStatus.REFUNDED
    assert charging.refund(records, gateway, REFUND).status is PaymentStatus.REFUNDED
    assert gateway.refunds == ["pi_1"]


def test_a_refund_of_a_declined_charge_refunds_nothing() -> None:
    records, gateway = FakeRecords(), FakeGateway(decline=True)
    charging.charge(records, gateway, CHARGE)
    assert charging.refund(records, gateway, REFUND).status is PaymentStatus.DECLINED
    assert gateway.refunds == []


def test_a_refund_before_any_charge_cancels_and_blocks_a_late_charge() -> None:
    records, gateway = FakeRecords(), FakeGateway()
    assert charging.refund(records, gateway, REFUND).status is PaymentStatus.CANCELLED
    assert charging.charge(records, gateway, CHARGE).status is PaymentStatus.CANCELLED
    assert gateway.intents == {}


def test_a_refund_of_an_unfinished_charge_that_went_through_refunds_it() -> None:
    records, gateway = FakeRecords(), FakeGateway()
    charging.charge(records, gateway, CHARGE)
    records.rows["o-1"].status = PaymentStatus.PENDING  # died between confirm and recording
    assert charging.refund(records, gateway, REFUND).status is PaymentStatus.REFUNDED
    assert gateway.refunds == ["pi_1"]


def test_a_refund_of_an_unfinished_unconfirmed_charge_cancels_the_intent() -> None:
    records, gateway = FakeRecords(), FakeGateway()
    gateway.fail_next = "confirm"
    with pytest.raises(GatewayUnavailable):
        charging.charge(records, gateway, CHARGE)
    assert charging.refund(records, gateway, REFUND).status is PaymentStatus.CANCELLED
    assert gateway.intents["pi_1"] == "canceled" and gateway.refunds == []
