"""Payment's commands accepted at once and answered once the processor has: the consumer never waits for Stripe.

The consumer's transaction only accepts a command: it records the step the payment has to take and the command
it owes a reply to (``accept``). A driver (``payment.entrypoints.driver``) leases the payments to drive, takes
each through its step with the same idempotency protocol as before (``payment.services.step``; the intent id
is stored before it is confirmed), and writes the outcome and its replies in one transaction (``settle``).
A copy of a command whose payment is still being driven is answered by that reply; one that comes after it by
the inbox (the reply is recorded there too). A processor outage postpones the payment with a backoff; a refusal
for good answers every owed command with ``CommandFailed`` and parks the payment until a command comes again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from contracts.base import Reason, fit
from contracts.envelope import Envelope
from contracts.failures import CommandFailed
from contracts.payment import ChargePayment, RefundPayment
from contracts.topics import SAGA_REPLIES
from payment import services
from payment.domain.driving import TO_DRIVE, Command, accepted, settled
from payment.domain.gateway import GatewayRefused, GatewayUnavailable
from payment.domain.payments import Payment, PaymentStatus
from payment.ports import Owed, PaymentGateway, PaymentRecords, PaymentUnitOfWork
from plumbing.unit_of_work import UnitsOfWork, reply_to

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 30.0


def accept(uow: PaymentUnitOfWork, commands: list[Envelope[Any]]) -> bool:
    """Accept a batch's ChargePayment and RefundPayment commands, in order; True if a payment is left to drive.

    Answered now: a charge whose payment rests already, a refund of a payment never charged or refunded already.
    """
    candidates: dict[str, Payment] = {}
    for envelope in commands:
        candidates.setdefault(envelope.payload.order_id, _new(envelope.payload))
    owed = uow.driven.lock(list(candidates.values()))
    to_drive = False
    for envelope in commands:
        payment = owed[envelope.payload.order_id].payment
        command = Command.CHARGE if isinstance(envelope.payload, ChargePayment) else Command.REFUND
        status, now = accepted(payment.status, command)
        if now:
            reply = services.charge_reply(payment) if command is Command.CHARGE else services.refund_reply(payment)
            uow.reply(envelope, reply)
        else:
            payment.status = status
            uow.driven.owe(payment.order_id, status, command, envelope)
            to_drive = True
    return to_drive


def _new(command: ChargePayment | RefundPayment) -> Payment:
    """The payment a command makes for an order payment has not seen: a refund first cancels it for good."""
    if isinstance(command, ChargePayment):
        return Payment(
            order_id=command.order_id,
            idempotency_key=command.idempotency_key,
            amount_cents=command.amount_cents,
            currency=command.currency,
            payment_method=command.payment_method,
        )
    return Payment(
        order_id=command.order_id,
        idempotency_key=command.idempotency_key,
        amount_cents=0,
        currency="usd",
        payment_method="",
        status=PaymentStatus.CANCELLED,
    )


@dataclass(frozen=True)
class Stepped:
    """How a driven step ended: the payment where it rests now, or the processor's error."""

    owed: Owed
    payment: Payment | None = None
    unavailable: str | None = None
    refused: str | None = None


async def step(store: PaymentRecords, gateway: PaymentGateway, owed: Owed) -> Stepped:
    """Take the payment through its step with the processor; only the intent id is stored on the way."""
    refund_key = owed.refund.payload.idempotency_key if owed.refund is not None else None
    try:
        return Stepped(owed, payment=await services.step(_Progress(store), gateway, owed.payment, refund_key))
    except GatewayUnavailable as error:
        return Stepped(owed, unavailable=str(error) or type(error).__name__)
    except GatewayRefused as error:
        return Stepped(owed, refused=str(error) or type(error).__name__)


def settle(units: UnitsOfWork[PaymentUnitOfWork], instance: str, steps: list[Stepped]) -> list[bool]:
    """Record the steps' outcomes and replies in one transaction; for each, whether its payment is to drive
    again now. A payment this instance no longer holds (its lease ran out) is left to its new driver."""
    again = []
    with units.begin() as uow:
        held = uow.driven.held([s.owed.payment.order_id for s in steps], instance)
        for stepped in steps:
            now = held.get(stepped.owed.payment.order_id)
            again.append(now is not None and _settled(uow, instance, stepped, now))
        uow.driven.record_replies()
    return again


def _settled(uow: PaymentUnitOfWork, instance: str, stepped: Stepped, now: Owed) -> bool:
    order_id = stepped.owed.payment.order_id
    if stepped.payment is not None:
        payment = stepped.payment
        rests = settled(payment.status, charge_owed=now.charge is not None, refund_owed=now.refund is not None)
        if rests.answer_charge and now.charge is not None:
            uow.reply(now.charge, services.charge_reply(payment))
        payment.status = rests.status
        if rests.answer_refund and now.refund is not None:
            uow.reply(now.refund, services.refund_reply(payment))
        uow.driven.settle(payment, rests.answer_charge, rests.answer_refund)
        return rests.status in TO_DRIVE
    if stepped.unavailable is not None:
        wait_s = min(FIRST_BACKOFF_S * 2**now.attempts, MAX_BACKOFF_S)
        log.warning("payment %s: processor unavailable (%s); again in %.1f s", order_id, stepped.unavailable, wait_s)
        uow.driven.postpone(order_id, instance, wait_s)
        return False
    reason = f"the processor refused the request: {stepped.refused}"
    log.error("payment %s: %s; parked until a command comes again", order_id, reason)
    for command in (now.charge, now.refund):
        if command is not None:
            failed = CommandFailed(order_id=order_id, command=command.type, reason=fit(reason, Reason))
            # Not the reply's id: the real reply, once a command comes again after a fix, must not pass for a copy.
            failure = msgspec.structs.replace(reply_to(command, failed), message_id=uuid.uuid4())
            uow.publish(SAGA_REPLIES, failure, key=str(command.saga_id))
    uow.driven.park(order_id, instance)
    return False


class _Progress:
    """``PaymentRecords`` for a driven step: the intent id is stored at once (before it is confirmed, so a
    retry never creates a second one); the rest waits for ``settle``, which stores it with the replies."""

    def __init__(self, store: PaymentRecords) -> None:
        self._store = store

    async def open(self, payment: Payment) -> Payment:
        raise AssertionError("a driven payment exists already")

    async def find(self, order_id: str) -> Payment | None:
        return await self._store.find(order_id)

    async def update(self, payment: Payment, **changes: Any) -> Payment:
        if "intent_id" in changes:
            await self._store.update(payment, intent_id=changes.pop("intent_id"))
        for name, value in changes.items():
            setattr(payment, name, value)
        return payment
