"""Payment accepts its commands at once and answers them once the processor has (``payment.driving``), against
fakes: exactly one charge per order, exactly one reply per command, whatever comes in between."""

from __future__ import annotations

import asyncio

from contracts.codecs import Codec
from contracts.failures import CommandFailed
from contracts.payment import PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.topics import PAYMENT_COMMANDS
from payment import driving
from payment.domain.gateway import GatewayRefused
from payment.domain.payments import Payment, PaymentStatus
from payment.ports import Owed
from plumbing.unit_of_work import reply_id
from tests.unit.fakes import command
from tests.unit.payment.fakes import FakeGateway, FakePaymentUnitOfWork, charge, payments

SUCCEEDED = PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)


def refund(order_id: str = "o-1") -> RefundPayment:
    return RefundPayment(order_id=order_id, idempotency_key=f"{order_id}:refund_payment")


def drive(uow: FakePaymentUnitOfWork, lease: str = "payment-1/a") -> list[bool]:
    """Claim what is due and take each claimed payment through one step; whether each is to drive again."""
    return settle(uow, steps(uow, uow.driven.claim(lease, 100, 30.0)))


def steps(uow: FakePaymentUnitOfWork, claimed: list[Owed]) -> list[driving.Stepped]:
    return [asyncio.run(driving.step(uow.driven.stored_intent, uow.gateway, owed)) for owed in claimed]


def settle(uow: FakePaymentUnitOfWork, stepped: list[driving.Stepped]) -> list[bool]:
    return driving.settle(payments(uow), stepped)


def test_a_charge_is_accepted_without_a_reply_and_answered_once_driven() -> None:
    uow = FakePaymentUnitOfWork()
    asked = command(charge("o-1"))
    assert driving.accept(uow, [asked]) is True
    assert uow.replies == [] and uow.gateway.charges == []
    assert drive(uow) == [False]
    assert uow.replies == [SUCCEEDED] and uow.gateway.charges == ["pi_1"]
    assert uow.sent[0].envelope.message_id == reply_id(asked.message_id)
    assert uow.driven.inbox == {asked.message_id: SUCCEEDED}  # a copy of the command gets it from the inbox
    assert drive(uow) == []  # nothing left to drive


def test_a_copy_of_a_charge_in_flight_starts_no_second_charge_and_the_one_reply_answers_it() -> None:
    uow = FakePaymentUnitOfWork()
    first, copy = command(charge("o-1")), command(charge("o-1"))
    driving.accept(uow, [first])
    claimed = uow.driven.claim("payment-1/a", 100, 30.0)
    assert driving.accept(uow, [copy]) is True  # came while the charge was being made: no reply yet
    assert uow.driven.claim("payment-2/a", 100, 30.0) == []  # nobody else drives it meanwhile
    stepped = steps(uow, claimed)
    settle(uow, stepped)
    assert uow.replies == [SUCCEEDED] and uow.gateway.charges == ["pi_1"]
    assert uow.sent[0].envelope.causation_id == copy.message_id  # the command owed a reply is the latest copy
    assert driving.accept(uow, [command(charge("o-1"))]) is False  # after the outcome: answered at once
    assert uow.replies == [SUCCEEDED, SUCCEEDED] and uow.gateway.charges == ["pi_1"]


def test_a_refund_that_comes_while_the_charge_is_made_waits_for_it_then_refunds_it() -> None:
    uow = FakePaymentUnitOfWork()
    driving.accept(uow, [command(charge("o-1"))])
    claimed = uow.driven.claim("payment-1/a", 100, 30.0)
    stepped = steps(uow, claimed)
    driving.accept(uow, [command(refund())])
    assert settle(uow, stepped) == [True]  # charged, answered, now to refund
    assert uow.replies == [SUCCEEDED]
    assert uow.payments.rows["o-1"].status is PaymentStatus.REFUNDING
    assert drive(uow) == [False]
    assert uow.replies == [SUCCEEDED, PaymentRefunded(order_id="o-1", refund_id="re_pi_1")]
    assert uow.gateway.charges == ["pi_1"] and uow.gateway.refunds == ["pi_1"]


def test_a_refund_accepted_before_its_charge_was_made_cancels_it_and_both_are_answered() -> None:
    uow = FakePaymentUnitOfWork()
    assert driving.accept(uow, [command(charge("o-1")), command(refund())]) is True
    assert drive(uow) == [False]
    assert uow.replies == [
        PaymentDeclined(order_id="o-1", reason="payment declined: payment cancelled", decline_code=None),
        PaymentRefunded(order_id="o-1", refund_id=None),
    ]
    assert uow.gateway.charges == [] and uow.payments.rows["o-1"].status is PaymentStatus.CANCELLED


def test_commands_for_payments_that_rest_are_answered_in_the_consumers_transaction() -> None:
    uow = FakePaymentUnitOfWork()
    assert driving.accept(uow, [command(refund("o-2"))]) is False  # no charge yet: cancelled for good
    assert driving.accept(uow, [command(charge("o-2"))]) is False
    assert uow.replies == [
        PaymentRefunded(order_id="o-2", refund_id=None),
        PaymentDeclined(order_id="o-2", reason="payment declined: payment cancelled", decline_code=None),
    ]
    assert uow.gateway.charges == [] and drive(uow) == []


def test_a_processor_outage_postpones_the_payment_with_a_backoff_and_then_resumes_it() -> None:
    uow = FakePaymentUnitOfWork()
    driving.accept(uow, [command(charge("o-1"))])
    uow.gateway.fail_next = "confirm"
    assert drive(uow) == [False]
    assert uow.replies == [] and uow.driven.rows["o-1"].attempts == 1
    assert uow.payments.rows["o-1"].intent_id == "pi_1"  # stored before it was confirmed
    assert drive(uow) == []  # waiting out its backoff
    uow.driven.now += driving.FIRST_BACKOFF_S * 2
    assert drive(uow) == [False]
    assert uow.replies == [SUCCEEDED] and uow.gateway.charges == ["pi_1"]


def test_a_refusal_for_good_answers_command_failed_and_parks_the_payment_until_a_command_comes() -> None:
    uow = FakePaymentUnitOfWork()
    asked = command(charge("o-1"))
    encoded = Codec.encode(asked)
    driving.accept(uow, [asked])
    uow.gateway.fail_next, uow.gateway.failure = "create", GatewayRefused
    drive(uow)
    [failed] = uow.replies
    assert isinstance(failed, CommandFailed) and failed.command == "ChargePayment"
    [letter] = uow.dead_letters  # as the consumer dead-letters a command it gives up on: replayable as it came
    assert (letter["topic"], letter["key"], letter["value"]) == (PAYMENT_COMMANDS.name, str(asked.saga_id), encoded)
    assert letter["headers"] == {"type": "ChargePayment", "message_id": str(asked.message_id), "dlq.service": "payment"}
    assert letter["reason"] == failed.reason == "the processor refused the request: create"
    assert uow.sent[0].envelope.message_id != reply_id(asked.message_id)  # the real reply's id stays free
    assert uow.payments.rows["o-1"].status is PaymentStatus.PENDING  # never recorded as declined
    assert drive(uow) == []  # parked
    driving.accept(uow, [asked])  # the command again (after a fix): driven from where it stopped
    drive(uow)
    assert uow.replies[1:] == [SUCCEEDED] and uow.gateway.charges == ["pi_1"]


def test_an_instance_that_lost_its_lease_settles_nothing_and_the_order_is_charged_once() -> None:
    uow = FakePaymentUnitOfWork()
    driving.accept(uow, [command(charge("o-1"))])
    late = uow.driven.claim("payment-1/a", 100, 30.0)
    uow.driven.now += 31  # payment-1 is stuck past its lease: payment-2 takes the payment over
    assert drive(uow, "payment-2/a") == [False]
    stepped = steps(uow, late)
    assert settle(uow, stepped) == [False]
    assert uow.replies == [SUCCEEDED] and uow.gateway.charges == ["pi_1"]


def test_a_declined_charge_answers_an_owed_refund_at_once() -> None:
    uow = FakePaymentUnitOfWork(FakeGateway(decline=True))
    driving.accept(uow, [command(charge("o-1"))])
    claimed = uow.driven.claim("payment-1/a", 100, 30.0)
    stepped = steps(uow, claimed)
    driving.accept(uow, [command(refund())])
    assert settle(uow, stepped) == [False]
    assert [type(reply) for reply in uow.replies] == [PaymentDeclined, PaymentRefunded]
    assert uow.gateway.refunds == []


def test_a_payment_that_owes_no_reply_is_never_driven() -> None:
    uow = FakePaymentUnitOfWork()
    pending = Payment(order_id="o-1", idempotency_key="k", amount_cents=4499, currency="usd", payment_method="pm_x")
    asyncio.run(uow.payments.open(pending))  # PENDING, owing nothing: the consumer charges it (driver off)
    assert drive(uow) == []
    assert uow.gateway.intents == {} and uow.replies == []
