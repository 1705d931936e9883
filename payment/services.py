"""Payment's use cases: charging and refunding, safe to repeat at any point (a redelivery resumes from the
stored progress), and looking a payment up.

Create the PaymentIntent unconfirmed, store its id, then confirm it: a repeat never creates a second
charge, even with an emulator that ignores idempotency keys. See shared design notes on Stripe.
A message use case runs in the consumer's batch transaction; the payment records commit on their own.
They are coroutines: a charge waiting on the processor holds no thread (see ``payment.entrypoints.concurrency``).
"""

from __future__ import annotations

import asyncio

from contracts.base import Reason, fit
from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from payment.domain.gateway import Confirmation, Declined
from payment.domain.payments import Payment, PaymentStatus
from payment.ports import PaymentGateway, PaymentRecords, PaymentUnitOfWork
from plumbing.errors import NotFound
from plumbing.unit_of_work import UnitsOfWork


class UnknownPayment(NotFound):
    """Payment has not seen this order (yet)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no payment for order {order_id!r}")


async def charge_payment(uow: PaymentUnitOfWork, command: ChargePayment) -> PaymentSucceeded | PaymentDeclined:
    """Charge the order once; a repeat answers as the first time did (a refunded charge still succeeded)."""
    return charge_reply(await _charge(uow, command))


def charge_reply(payment: Payment) -> PaymentSucceeded | PaymentDeclined:
    """The answer to a charge of ``payment``, which is no longer PENDING."""
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDING, PaymentStatus.REFUNDED):
        assert payment.intent_id is not None
        return PaymentSucceeded(
            order_id=payment.order_id, payment_intent_id=payment.intent_id, amount_cents=payment.amount_cents
        )
    reason = payment.decline_reason or f"payment {payment.status.value.lower()}"
    return PaymentDeclined(
        order_id=payment.order_id, reason=fit(f"payment declined: {reason}", Reason), decline_code=payment.decline_code
    )


async def refund_payment(uow: PaymentUnitOfWork, command: RefundPayment) -> PaymentRefunded:
    """Refund the order's charge if it succeeded; a refund before any charge cancels the order's payment."""
    return refund_reply(await _refund(uow, command))


def refund_reply(payment: Payment) -> PaymentRefunded:
    """The answer to a refund of ``payment``, which rests (refunded, cancelled, or never charged)."""
    return PaymentRefunded(order_id=payment.order_id, refund_id=payment.refund_id)


async def step(store: PaymentRecords, gateway: PaymentGateway, payment: Payment, refund_key: str | None) -> Payment:
    """Take a PENDING or REFUNDING payment through its next step with the processor: the charge, or, when a
    refund is owed (``refund_key``), the refund (which cancels a charge that has not gone through)."""
    if refund_key is None and payment.status is PaymentStatus.PENDING:
        return await _charged(store, gateway, payment)
    return await _refunded(store, gateway, payment, refund_key or payment.idempotency_key)


async def get_payment(units: UnitsOfWork[PaymentUnitOfWork], order_id: str) -> Payment:
    """The order's payment; ``UnknownPayment`` if payment has not seen the order.

    The read's connection is opened and closed on a worker thread: waiting for the pool must not stall the
    event loop the HTTP API (and, in tests, the charges) run on. ``payments.find`` threads its own query.
    """
    reading = units.read()
    uow = await asyncio.to_thread(reading.__enter__)
    try:
        payment = await uow.payments.find(order_id)
    finally:
        await asyncio.to_thread(reading.__exit__, None, None, None)
    if payment is None:
        raise UnknownPayment(order_id)
    return payment


async def _charge(uow: PaymentUnitOfWork, command: ChargePayment) -> Payment:
    """The payment in a final state (SUCCEEDED, DECLINED or CANCELLED), charged at most once."""
    store, gateway = uow.payments, uow.gateway
    payment = await store.open(
        Payment(
            order_id=command.order_id,
            idempotency_key=command.idempotency_key,
            amount_cents=command.amount_cents,
            currency=command.currency,
            payment_method=command.payment_method,
        )
    )
    if payment.status is not PaymentStatus.PENDING:
        return payment
    return await _charged(store, gateway, payment)


async def _charged(store: PaymentRecords, gateway: PaymentGateway, payment: Payment) -> Payment:
    outcome = await _confirmation(store, gateway, payment)
    if outcome.succeeded:
        return await store.update(payment, status=PaymentStatus.SUCCEEDED)
    return await store.update(
        payment, status=PaymentStatus.DECLINED, decline_reason=outcome.reason, decline_code=outcome.decline_code
    )


async def _confirmation(store: PaymentRecords, gateway: PaymentGateway, payment: Payment) -> Confirmation:
    """Create the intent unless the payment has one, then confirm it; a refused payment method is a decline."""
    if payment.intent_id is None:
        try:
            await store.update(payment, intent_id=await gateway.create_intent(payment))
        except Declined as declined:  # Stripe created no intent: nothing exists that could be charged
            return Confirmation(False, reason=declined.reason, decline_code=declined.code)
    assert payment.intent_id is not None
    return await gateway.confirm(payment.intent_id, payment)


async def _refund(uow: PaymentUnitOfWork, command: RefundPayment) -> Payment:
    """The payment refunded, cancelled, or left as it was when there was no charge to refund."""
    store, gateway = uow.payments, uow.gateway
    payment = await store.find(command.order_id)
    if payment is None:
        return await store.open(Payment.refused_before_charge(command.order_id, command.idempotency_key))
    return await _refunded(store, gateway, payment, command.idempotency_key)


async def _refunded(store: PaymentRecords, gateway: PaymentGateway, payment: Payment, idempotency_key: str) -> Payment:
    if payment.status is PaymentStatus.PENDING:
        # A charge that never finished (the process died mid-way): it may or may not have gone through.
        charged = payment.intent_id is not None and await gateway.cancel_unless_charged(payment.intent_id)
        if not charged:
            return await store.update(payment, status=PaymentStatus.CANCELLED)
        await store.update(payment, status=PaymentStatus.SUCCEEDED)
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDING):
        assert payment.intent_id is not None
        await store.update(payment, status=PaymentStatus.REFUNDING)
        refund_id = await gateway.refund(payment.intent_id, idempotency_key)
        return await store.update(payment, status=PaymentStatus.REFUNDED, refund_id=refund_id)
    return payment
