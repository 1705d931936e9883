"""Payment's use cases against fakes: a repeat at any point never charges twice; no PostgreSQL, Kafka or HTTP."""

from __future__ import annotations

import asyncio
import dataclasses

import msgspec
import pytest

from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from payment import services
from payment.domain.gateway import Declined, GatewayRefused, GatewayUnavailable
from payment.domain.payments import Payment, PaymentStatus
from tests.unit.payment.fakes import UNKNOWN_METHOD, FakeGateway, FakePaymentUnitOfWork, payments

CHARGE = ChargePayment(
    order_id="o-1",
    customer_id="c-1",
    amount_cents=4499,
    currency="usd",
    payment_method="pm_card_visa",
    idempotency_key="saga:charge_payment",
)
REFUND = RefundPayment(order_id="o-1", idempotency_key="saga:refund_payment")
SUCCEEDED = PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)


def charge(uow: FakePaymentUnitOfWork) -> Payment:
    """Charge ``CHARGE``; the order's payment as stored afterwards."""
    asyncio.run(services.charge_payment(uow, CHARGE))
    return uow.payments.rows["o-1"]


def refund(uow: FakePaymentUnitOfWork) -> Payment:
    """Refund ``REFUND``; the order's payment as stored afterwards."""
    asyncio.run(services.refund_payment(uow, REFUND))
    return uow.payments.rows["o-1"]


def test_a_charge_succeeds_once_and_a_repeat_does_not_charge_again() -> None:
    uow = FakePaymentUnitOfWork()
    gateway = uow.gateway
    assert charge(uow).status is PaymentStatus.SUCCEEDED
    assert charge(uow).status is PaymentStatus.SUCCEEDED
    assert gateway.charges == ["pi_1"] and list(gateway.intents) == ["pi_1"]


def test_a_decline_is_recorded_with_its_reason() -> None:
    uow = FakePaymentUnitOfWork(FakeGateway(decline=True))
    payment = charge(uow)
    assert payment.status is PaymentStatus.DECLINED
    assert payment.decline_code == "card_declined" and payment.decline_reason == "Your card was declined."
    assert uow.gateway.charges == []


def test_an_unknown_payment_method_is_declined_with_the_processors_code_and_no_intent() -> None:
    uow = FakePaymentUnitOfWork()
    unknown = msgspec.structs.replace(CHARGE, payment_method=UNKNOWN_METHOD)
    declined = PaymentDeclined(
        order_id="o-1",
        reason=f"payment declined: No such PaymentMethod: '{UNKNOWN_METHOD}' (resource_missing)",
        decline_code="resource_missing",
    )
    assert asyncio.run(services.charge_payment(uow, unknown)) == declined
    assert (
        asyncio.run(services.charge_payment(uow, unknown)) == declined
    )  # a repeat answers the same, asking Stripe nothing
    payment = uow.payments.rows["o-1"]
    assert (payment.status, payment.intent_id, payment.decline_code) == (
        PaymentStatus.DECLINED,
        None,
        "resource_missing",
    )
    assert uow.gateway.intents == {} and uow.gateway.charges == []
    assert asyncio.run(services.refund_payment(uow, REFUND)) == PaymentRefunded(order_id="o-1", refund_id=None)
    assert uow.gateway.refunds == []


def test_a_declines_reason_is_bounded_to_fit_the_reply() -> None:
    uow = FakePaymentUnitOfWork()
    uow.gateway.fail_next, uow.gateway.failure = "create", lambda _call: Declined("x" * 600, "resource_missing")
    reply = asyncio.run(services.charge_payment(uow, CHARGE))
    assert isinstance(reply, PaymentDeclined)
    assert reply.reason == "payment declined: " + "x" * (500 - len("payment declined: ") - 1) + "…"


@pytest.mark.parametrize("call", ["create", "confirm"])
def test_a_refusal_on_our_side_is_not_a_decline_and_a_retry_after_the_fix_charges_once(call: str) -> None:
    uow = FakePaymentUnitOfWork()
    gateway = uow.gateway
    gateway.fail_next, gateway.failure = call, GatewayRefused
    with pytest.raises(GatewayRefused, match=f"^{call}$"):
        asyncio.run(services.charge_payment(uow, CHARGE))
    assert uow.payments.rows["o-1"].status is PaymentStatus.PENDING  # never recorded as declined
    assert asyncio.run(services.charge_payment(uow, CHARGE)) == SUCCEEDED
    assert gateway.charges == ["pi_1"] and list(gateway.intents) == ["pi_1"]


def test_an_outage_after_the_intent_was_created_resumes_with_the_same_intent() -> None:
    uow = FakePaymentUnitOfWork()
    records, gateway = uow.payments, uow.gateway
    gateway.fail_next = "confirm"
    with pytest.raises(GatewayUnavailable):
        charge(uow)
    assert records.rows["o-1"].intent_id == "pi_1" and records.rows["o-1"].status is PaymentStatus.PENDING
    assert charge(uow).status is PaymentStatus.SUCCEEDED
    assert list(gateway.intents) == ["pi_1"] and gateway.charges == ["pi_1"]


def test_a_crash_after_confirm_but_before_recording_is_not_charged_twice() -> None:
    uow = FakePaymentUnitOfWork()
    charge(uow)
    uow.payments.rows["o-1"].status = PaymentStatus.PENDING  # as if the process died before storing the outcome
    assert charge(uow).status is PaymentStatus.SUCCEEDED
    assert uow.gateway.charges == ["pi_1"]


class _RacedByADriver(FakeGateway):
    """While the consumer creates its intent, another instance's driver creates one and stores it first."""

    def __init__(self, uow: FakePaymentUnitOfWork) -> None:
        super().__init__()
        self.uow = uow

    async def create_intent(self, payment: Payment) -> str:
        if not self.intents:
            self.uow.payments.rows[payment.order_id].intent_id = await super().create_intent(payment)
        return await super().create_intent(payment)


def test_a_charge_whose_intent_another_instances_driver_stored_first_confirms_that_one() -> None:
    uow = FakePaymentUnitOfWork()
    uow.gateway = gateway = _RacedByADriver(uow)
    assert charge(uow).intent_id == "pi_1" and gateway.charges == ["pi_1"]  # pi_2 never confirmed: nothing charged
    # The driver claimed the payment while it was PENDING, with the intent it stored.
    claimed = dataclasses.replace(uow.payments.rows["o-1"], status=PaymentStatus.PENDING)
    driven = asyncio.run(services.step(uow.payments, gateway, claimed, None))
    assert driven.status is PaymentStatus.SUCCEEDED and gateway.charges == ["pi_1"]  # its confirm: a repeat


def test_a_refund_refunds_a_succeeded_charge_once() -> None:
    uow = FakePaymentUnitOfWork()
    charge(uow)
    assert refund(uow).status is PaymentStatus.REFUNDED
    assert refund(uow).status is PaymentStatus.REFUNDED
    assert uow.gateway.refunds == ["pi_1"]


def test_a_refund_of_a_declined_charge_refunds_nothing() -> None:
    uow = FakePaymentUnitOfWork(FakeGateway(decline=True))
    charge(uow)
    assert refund(uow).status is PaymentStatus.DECLINED
    assert uow.gateway.refunds == []


def test_a_refund_before_any_charge_cancels_and_blocks_a_late_charge() -> None:
    uow = FakePaymentUnitOfWork()
    assert refund(uow).status is PaymentStatus.CANCELLED
    assert charge(uow).status is PaymentStatus.CANCELLED
    assert uow.gateway.intents == {}


def test_a_refund_of_an_unfinished_charge_that_went_through_refunds_it() -> None:
    uow = FakePaymentUnitOfWork()
    charge(uow)
    uow.payments.rows["o-1"].status = PaymentStatus.PENDING  # died between confirm and recording
    assert refund(uow).status is PaymentStatus.REFUNDED
    assert uow.gateway.refunds == ["pi_1"]


def test_a_refund_of_an_unfinished_unconfirmed_charge_cancels_the_intent() -> None:
    uow = FakePaymentUnitOfWork()
    gateway = uow.gateway
    gateway.fail_next = "confirm"
    with pytest.raises(GatewayUnavailable):
        charge(uow)
    assert refund(uow).status is PaymentStatus.CANCELLED
    assert gateway.intents["pi_1"] == "canceled" and gateway.refunds == []


def test_a_charge_answers_payment_succeeded_with_its_intent_every_time() -> None:
    uow = FakePaymentUnitOfWork()
    assert asyncio.run(services.charge_payment(uow, CHARGE)) == SUCCEEDED
    assert asyncio.run(services.charge_payment(uow, CHARGE)) == SUCCEEDED
    assert uow.sent == []  # the use case answers; its handler sends


def test_a_declined_charge_answers_payment_declined_with_the_processors_reason() -> None:
    uow = FakePaymentUnitOfWork(FakeGateway(decline=True))
    assert asyncio.run(services.charge_payment(uow, CHARGE)) == PaymentDeclined(
        order_id="o-1", reason="payment declined: Your card was declined.", decline_code="card_declined"
    )


def test_a_charge_blocked_by_an_earlier_refund_answers_payment_declined() -> None:
    uow = FakePaymentUnitOfWork()
    asyncio.run(services.refund_payment(uow, REFUND))
    assert asyncio.run(services.charge_payment(uow, CHARGE)) == PaymentDeclined(
        order_id="o-1", reason="payment declined: payment cancelled", decline_code=None
    )


def test_a_charge_repeated_after_its_refund_still_answers_payment_succeeded() -> None:
    uow = FakePaymentUnitOfWork()
    asyncio.run(services.charge_payment(uow, CHARGE))
    asyncio.run(services.refund_payment(uow, REFUND))
    assert asyncio.run(services.charge_payment(uow, CHARGE)) == SUCCEEDED
    assert uow.gateway.charges == ["pi_1"]


def test_a_refund_answers_payment_refunded_with_the_refund_if_there_was_one() -> None:
    uow = FakePaymentUnitOfWork()
    assert asyncio.run(services.refund_payment(uow, REFUND)) == PaymentRefunded(order_id="o-1", refund_id=None)
    other = FakePaymentUnitOfWork()
    asyncio.run(services.charge_payment(other, CHARGE))
    assert asyncio.run(services.refund_payment(other, REFUND)) == PaymentRefunded(order_id="o-1", refund_id="re_pi_1")
    assert asyncio.run(services.refund_payment(other, REFUND)) == PaymentRefunded(order_id="o-1", refund_id="re_pi_1")
    assert (uow.sent, other.sent) == ([], [])


def test_a_payment_is_read_without_a_commit() -> None:
    units = payments()
    asyncio.run(services.charge_payment(units.uow, CHARGE))
    payment = asyncio.run(services.get_payment(units, "o-1"))
    assert (payment.order_id, payment.status, payment.intent_id, payment.amount_cents) == (
        "o-1",
        PaymentStatus.SUCCEEDED,
        "pi_1",
        4499,
    )
    assert (units.committed, units.rolled_back) == (0, 0)


def test_an_order_payment_has_not_seen_is_unknown() -> None:
    units = payments()
    with pytest.raises(services.UnknownPayment, match=r"^no payment for order 'o-9'$") as raised:
        asyncio.run(services.get_payment(units, "o-9"))
    assert isinstance(raised.value, LookupError)
    assert units.committed == 0
