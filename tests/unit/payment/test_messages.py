"""Payment's message handlers, routed as the consumer routes them, against fakes."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from contracts.envelope import Envelope
from contracts.payment import PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.topics import PAYMENT_COMMANDS, SAGA_REPLIES
from payment import driving
from payment.domain.gateway import GatewayRefused, GatewayUnavailable
from payment.domain.payments import Payment, PaymentStatus
from payment.entrypoints.messages import ROUTES, driven_first
from payment.ports import Owed
from plumbing.errors import RetryLater, Unprocessable
from plumbing.routing import Batched, single
from plumbing.unit_of_work import reply_id
from tests.unit.fakes import command
from tests.unit.payment.fakes import UNKNOWN_METHOD, FakeGateway, FakePaymentUnitOfWork, charge


def apply(uow: FakePaymentUnitOfWork, envelope: Envelope[Any]) -> None:
    single(ROUTES[PAYMENT_COMMANDS.name][envelope.type])(uow, envelope)


def test_charge_payment_replies_to_its_command() -> None:
    uow = FakePaymentUnitOfWork()
    first, again = command(charge("o-1")), command(charge("o-1"))
    apply(uow, first)
    apply(uow, again)
    succeeded = PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)
    assert uow.replies == [succeeded, succeeded]
    assert uow.gateway.charges == ["pi_1"]
    replies = [s.envelope for s in uow.sent if s.topic == SAGA_REPLIES.name]
    assert [r.message_id for r in replies] == [reply_id(first.message_id), reply_id(again.message_id)]
    assert [r.saga_id for r in replies] == [first.saga_id, again.saga_id]
    assert [r.causation_id for r in replies] == [first.message_id, again.message_id]
    assert [s.key for s in uow.sent] == [str(first.saga_id), str(again.saga_id)]


def test_a_declined_charge_replies_payment_declined() -> None:
    uow = FakePaymentUnitOfWork(FakeGateway(decline=True))
    apply(uow, command(charge("o-1")))
    assert uow.replies == [
        PaymentDeclined(
            order_id="o-1", reason="payment declined: Your card was declined.", decline_code="card_declined"
        )
    ]


def test_refund_payment_replies_payment_refunded() -> None:
    uow = FakePaymentUnitOfWork()
    apply(uow, command(charge("o-1")))
    apply(uow, command(RefundPayment(order_id="o-1", idempotency_key="o-1:refund_payment")))
    assert uow.replies[1:] == [PaymentRefunded(order_id="o-1", refund_id="re_pi_1")]
    assert uow.gateway.refunds == ["pi_1"]


@pytest.mark.parametrize("call", ["create", "confirm"])
def test_a_processor_outage_retries_the_batch_later_and_replies_nothing(call: str) -> None:
    uow = FakePaymentUnitOfWork()
    uow.gateway.fail_next = call
    with pytest.raises(RetryLater, match=f"^{call}$") as raised:
        apply(uow, command(charge("o-1")))
    assert isinstance(raised.value.__cause__, GatewayUnavailable)
    assert uow.sent == []
    apply(uow, command(charge("o-1")))  # the retry resumes where the outage stopped it
    assert uow.replies == [PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)]


def test_an_unknown_payment_method_replies_payment_declined_naming_stripes_code() -> None:
    uow = FakePaymentUnitOfWork()
    apply(uow, command(charge("o-1", method=UNKNOWN_METHOD)))
    assert uow.replies == [
        PaymentDeclined(
            order_id="o-1",
            reason=f"payment declined: No such PaymentMethod: '{UNKNOWN_METHOD}' (resource_missing)",
            decline_code="resource_missing",
        )
    ]


def test_a_refusal_on_our_side_makes_the_command_unprocessable_and_replies_nothing() -> None:
    uow = FakePaymentUnitOfWork()
    apply(uow, command(charge("o-1")))
    uow.gateway.fail_next, uow.gateway.failure = "cancel", GatewayRefused
    uow.payments.rows["o-1"].status = PaymentStatus.PENDING  # as if the charge's outcome was never stored
    with pytest.raises(Unprocessable, match=r"^cancel$") as raised:
        apply(uow, command(RefundPayment(order_id="o-1", idempotency_key="o-1:refund_payment")))
    assert isinstance(raised.value.__cause__, GatewayRefused)
    assert len(uow.replies) == 1  # the charge's reply only: the consumer dead-letters the refund and tells its saga


def test_payment_routes_exactly_its_two_commands() -> None:
    assert {topic: set(types) for topic, types in ROUTES.items()} == {
        PAYMENT_COMMANDS.name: {"ChargePayment", "RefundPayment"}
    }


def test_with_the_driver_off_a_command_for_a_payment_still_driven_is_left_to_the_driver() -> None:
    uow = FakePaymentUnitOfWork()
    driving.accept(uow, [command(charge("o-1"))])  # accepted while the driver was on, not settled yet
    woken: list[bool] = []
    routes = driven_first(ROUTES, lambda: woken.append(True))
    handler = routes[PAYMENT_COMMANDS.name]["RefundPayment"]
    assert handler is routes[PAYMENT_COMMANDS.name]["ChargePayment"]
    single(handler)(uow, command(RefundPayment(order_id="o-1", idempotency_key="o-1:refund_payment")))
    single(handler)(uow, command(charge("o-2")))
    assert uow.replies == [PaymentSucceeded(order_id="o-2", payment_intent_id="pi_1", amount_cents=4499)]
    assert uow.gateway.intents == {"pi_1": "succeeded"}  # o-1 untouched: the refund waits for the driver
    assert uow.driven.owing(["o-1", "o-2"]) == {"o-1"} and uow.driven.rows["o-1"].refund is not None
    for callback in uow.on_commit:
        callback()
    assert woken == [True]


def test_with_the_driver_off_a_batch_calls_stripe_before_it_locks_the_payments_it_leaves_to_the_driver() -> None:
    uow = FakePaymentUnitOfWork()
    driving.accept(uow, [command(charge("o-1"))])  # accepted while the driver was on, not settled yet
    locked: list[list[str]] = []
    lock = uow.driven.lock

    def recorded(new: list[Payment]) -> dict[str, Owed]:
        locked.append([p.order_id for p in new])
        return lock(new)

    uow.driven.lock = recorded  # type: ignore[method-assign]
    create = uow.gateway.create_intent

    async def creating(payment: Payment) -> str:
        assert locked == [], "a payment row is locked while Stripe is called"
        return await create(payment)

    uow.gateway.create_intent = creating  # type: ignore[method-assign]
    handler = driven_first(ROUTES, lambda: None)[PAYMENT_COMMANDS.name]["ChargePayment"]
    assert isinstance(handler, Batched)
    refund = command(RefundPayment(order_id="o-1", idempotency_key="o-1:refund_payment"))
    handler.many(uow, [refund, command(charge("o-2"))], lambda _envelope: contextlib.nullcontext())
    assert locked == [["o-1"]] and uow.gateway.charges == ["pi_1"]  # o-1 left to the driver, o-2 charged
