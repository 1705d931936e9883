"""Payment's message handlers, and the table that routes each message type to one."""

from __future__ import annotations

from contracts.envelope import Envelope
from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.topics import PAYMENT_COMMANDS
from payment import charging
from payment.domain.gateway import GatewayUnavailable, PaymentGateway, PaymentRecords
from payment.domain.payments import PaymentStatus
from plumbing.consumer import Handler, Routes
from plumbing.errors import RetryLater
from plumbing.unit_of_work import UnitOfWork


def build_routes(store: PaymentRecords, gateway: PaymentGateway) -> Routes:
    """Payment's routing table, its handlers bound to the payment store and the gateway."""

    def charge_payment(uow: UnitOfWork, command: Envelope[ChargePayment]) -> None:
        """Charge once through the gateway; reply PaymentSucceeded or PaymentDeclined."""
        try:
            payment = charging.charge(store, gateway, command.payload)
        except GatewayUnavailable as error:
            raise RetryLater(str(error)) from error
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDING, PaymentStatus.REFUNDED):
            assert payment.intent_id is not None
            uow.reply(
                command,
                PaymentSucceeded(
                    order_id=payment.order_id, payment_intent_id=payment.intent_id, amount_cents=payment.amount_cents
                ),
            )
        else:
            reason = payment.decline_reason or f"payment {payment.status.value.lower()}"
            uow.reply(
                command,
                PaymentDeclined(
                    order_id=payment.order_id, reason=f"payment declined: {reason}", decline_code=payment.decline_code
                ),
            )

    def refund_payment(uow: UnitOfWork, command: Envelope[RefundPayment]) -> None:
        """Refund the order's charge if there was one; reply PaymentRefunded."""
        try:
            payment = charging.refund(store, gateway, command.payload)
        except GatewayUnavailable as error:
            raise RetryLater(str(error)) from error
        uow.reply(command, PaymentRefunded(order_id=payment.order_id, refund_id=payment.refund_id))

    handlers: dict[str, Handler] = {"ChargePayment": charge_payment, "RefundPayment": refund_payment}
    return {PAYMENT_COMMANDS.name: handlers}
