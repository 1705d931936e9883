"""Charging and refunding, safe to repeat at any point (a redelivery resumes from the stored progress).

Create the PaymentIntent unconfirmed, store its id, then confirm it: a repeat never creates a second
charge, even with an emulator that ignores idempotency keys. See shared design notes on Stripe.
"""

from __future__ import annotations

from contracts.payment import ChargePayment, RefundPayment
from payment.domain.gateway import PaymentGateway, PaymentRecords
from payment.domain.payments import Payment, PaymentStatus


def charge(store: PaymentRecords, gateway: PaymentGateway, command: ChargePayment) -> Payment:
    """Charge the order once; returns the payment in a final state (SUCCEEDED, DECLINED or CANCELLED)."""
    payment = store.open(
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
    if payment.intent_id is None:
        store.update(payment, intent_id=gateway.create_intent(payment))
    assert payment.intent_id is not None
    outcome = gateway.confirm(payment.intent_id, payment)
    if outcome.succeeded:
        return store.update(payment, status=PaymentStatus.SUCCEEDED)
    return store.update(
        payment, status=PaymentStatus.DECLINED, decline_reason=outcome.reason, decline_code=outcome.decline_code
    )


def refund(store: PaymentRecords, gateway: PaymentGateway, command: RefundPayment) -> Payment:
    """Refund the order's charge if it succeeded; a refund before any charge cancels the order's payment."""
    payment = store.find(command.order_id)
    if payment is None:
        return store.open(
            Payment(
                order_id=command.order_id,
                idempotency_key=command.idempotency_key,
                amount_cents=0,
                currency="usd",
                payment_method="",
                status=PaymentStatus.CANCELLED,
            )
        )
    if payment.status is PaymentStatus.PENDING:
        # A charge that never finished (the process died mid-way): it may or may not have gone through.
        charged = payment.intent_id is not None and gateway.cancel_unless_charged(payment.intent_id)
        if not charged:
            return store.update(payment, status=PaymentStatus.CANCELLED)
        store.update(payment, status=PaymentStatus.SUCCEEDED)
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDING):
        assert payment.intent_id is not None
        store.update(payment, status=PaymentStatus.REFUNDING)
        refund_id = gateway.refund(payment.intent_id, command.idempotency_key)
        return store.update(payment, status=PaymentStatus.REFUNDED, refund_id=refund_id)
    return payment
