"""Payment's message handlers, and the table that routes each message type to one.

Stripe calls take tens of milliseconds each, so a batch's commands run concurrently, one order per worker
thread: one order's commands stay in sequence (a charge and its re-send must never run side by side, or
both could create an intent), while different orders' calls overlap. Replies are written afterwards, on
the consumer's thread, in the batch's order.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contracts.base import Message
from contracts.envelope import Envelope
from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.topics import PAYMENT_COMMANDS
from payment import charging
from payment.domain.gateway import GatewayUnavailable, PaymentGateway, PaymentRecords
from payment.domain.payments import PaymentStatus
from plumbing.consumer import Batched, Routes, Scope
from plumbing.errors import RetryLater
from plumbing.tracing import captured, within
from plumbing.unit_of_work import UnitOfWork

Decide = Callable[[Envelope[Any]], Message]
"""One command's work with Stripe and the payment store, returning the reply to send."""


def build_routes(store: PaymentRecords, gateway: PaymentGateway, *, concurrency: int = 8) -> Routes:
    """Payment's routing table, its handlers bound to the payment store and the gateway."""

    def charge_payment(command: Envelope[ChargePayment]) -> Message:
        """Charge once through the gateway; reply PaymentSucceeded or PaymentDeclined."""
        payment = charging.charge(store, gateway, command.payload)
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDING, PaymentStatus.REFUNDED):
            assert payment.intent_id is not None
            return PaymentSucceeded(
                order_id=payment.order_id, payment_intent_id=payment.intent_id, amount_cents=payment.amount_cents
            )
        reason = payment.decline_reason or f"payment {payment.status.value.lower()}"
        return PaymentDeclined(
            order_id=payment.order_id, reason=f"payment declined: {reason}", decline_code=payment.decline_code
        )

    def refund_payment(command: Envelope[RefundPayment]) -> Message:
        """Refund the order's charge if there was one; reply PaymentRefunded."""
        payment = charging.refund(store, gateway, command.payload)
        return PaymentRefunded(order_id=payment.order_id, refund_id=payment.refund_id)

    decide: dict[str, Decide] = {"ChargePayment": charge_payment, "RefundPayment": refund_payment}
    commands = Batched(many=_concurrently_by_order(decide, ThreadPoolExecutor(concurrency, "stripe")))
    return {PAYMENT_COMMANDS.name: {"ChargePayment": commands, "RefundPayment": commands}}


def _concurrently_by_order(
    decide: dict[str, Decide], pool: ThreadPoolExecutor
) -> Callable[[UnitOfWork, list[Envelope[Any]], Scope], None]:
    def many(uow: UnitOfWork, envelopes: list[Envelope[Any]], scope: Scope) -> None:
        """Decide every command (orders in parallel, each order's in turn), then reply in the batch's order."""
        by_order: dict[str, list[Envelope[Any]]] = {}
        for envelope in envelopes:
            by_order.setdefault(envelope.payload.order_id, []).append(envelope)

        def one_order(commands: list[Envelope[Any]]) -> list[tuple[Message, Any]]:
            decided = []
            for command in commands:
                with scope(command):
                    decided.append((decide[command.type](command), captured()))
            return decided

        work = [(commands, pool.submit(one_order, commands)) for commands in by_order.values()]
        errors = [error for _, future in work if (error := future.exception()) is not None]  # waits for all
        if errors:
            # What was decided is in the payment store already: a retry finds it and calls Stripe no more.
            error = next((e for e in errors if not isinstance(e, GatewayUnavailable)), errors[0])
            if isinstance(error, GatewayUnavailable):
                raise RetryLater(str(error)) from error
            raise error
        replies = {
            id(command): outcome
            for commands, future in work
            for command, outcome in zip(commands, future.result(), strict=True)
        }
        for envelope in envelopes:
            reply, trace_context = replies[id(envelope)]
            with within(trace_context):  # the reply joins the trace of the command it answers
                uow.reply(envelope, reply)

    return many
