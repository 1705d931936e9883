"""Payment's commands accepted at once and answered once the processor has: the consumer never waits for Stripe.

The consumer's transaction only accepts a command: it records the step the payment has to take and the command
it owes a reply to (``accept``). A driver (``payment.entrypoints.driver``) leases the payments to drive, takes
each through its step with the same idempotency protocol as before (``payment.services.step``; the intent id
is stored before it is confirmed), and writes the outcome and its replies in one transaction (``settle``).
A copy of a command whose payment is still being driven is answered by that reply; one that comes after it by
the inbox (the reply is recorded there too). A processor outage postpones the payment with a backoff; a refusal
for good dead-letters every owed command (with the reason, as the consumer does with a command it cannot apply),
answers it with ``CommandFailed`` and parks the payment until a command comes again (a replay of the dead letter).
So does a step that keeps failing otherwise (a bug, an answer nobody foresaw) once it has failed ``max_attempts``
times in a row, and a claimed payment whose stored command cannot be decoded (its bytes are dead-lettered as kept).
Each owed command keeps the trace it came in (its ``traceparent``): the step's Stripe calls and the replies join it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import msgspec
from opentelemetry.context import Context

from contracts.base import Reason, fit
from contracts.envelope import Envelope
from contracts.failures import CommandFailed
from contracts.payment import ChargePayment, RefundPayment
from contracts.topics import SAGA_REPLIES
from payment import dead_letters, services
from payment.domain.driving import TO_DRIVE, Command, accepted, settled
from payment.domain.gateway import GatewayRefused, GatewayUnavailable
from payment.domain.payments import Payment
from payment.ports import Owed, PaymentGateway, PaymentUnitOfWork
from plumbing.routing import Scope
from plumbing.tracing import captured, current_traceparent, resumed, within
from plumbing.unit_of_work import UnitsOfWork, reply_to

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 30.0
MAX_ATTEMPTS = 5
"""Tries at a step that fails otherwise than by an outage before its payment is given up on (``RV_MAX_ATTEMPTS``)."""


def _unscoped(_envelope: Envelope[Any]) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass
class Lessee:
    """Room the accepting instance's driver has for payments accepted now (``Driver.lessee``): up to ``room`` of
    them are leased in the accepting transaction to the claim ``lease`` for ``lease_s``; ``leased`` are those taken,
    each as the driver is to drive it (no claim, no re-read: handed over once the transaction has committed)."""

    lease: str
    lease_s: float
    room: int
    leased: list[Owed] = dataclasses.field(default_factory=list)


def accept(
    uow: PaymentUnitOfWork, commands: list[Envelope[Any]], scope: Scope = _unscoped, lessee: Lessee | None = None
) -> bool:
    """Accept a batch's ChargePayment and RefundPayment commands, in order; True if a payment is left to drive that
    ``lessee`` did not take (one another claim holds, or there was no room): the driver's claim is to take it.

    Answered now: a charge whose payment rests already, a refund of a payment never charged or refunded already.
    """
    candidates: dict[str, Payment] = {}
    for envelope in commands:
        candidates.setdefault(envelope.payload.order_id, _new(envelope.payload))
    stored = uow.driven.lock(list(candidates.values()))
    owing: dict[str, Owed] = {}
    for envelope in commands:
        with scope(envelope):
            _accepted(uow, stored[envelope.payload.order_id].payment, envelope, owing)
    if not owing:
        return False
    if lessee is None:
        uow.driven.owe(list(owing.values()))
        return True
    driven = _to_lease(list(owing.values()), stored, lessee)
    owed = [dataclasses.replace(o, lease=lessee.lease) if o.payment.order_id in driven else o for o in owing.values()]
    taken = uow.driven.owe(owed, lessee.lease_s)
    lessee.leased = [driven[order_id] for order_id in sorted(taken)]
    return len(taken) < len(owing)


def _to_lease(owing: list[Owed], stored: dict[str, Owed], lessee: Lessee) -> dict[str, Owed]:
    """The payments (at most ``lessee.room``) to lease to ``lessee``, by order, each with every command it owes now
    (those owed before, ``stored``, too) as its driver is to see it; one with an undecodable stored command is left to
    the claim (which gives it up)."""
    driven: dict[str, Owed] = {}
    for now in owing:
        before = stored[now.payment.order_id]
        if len(driven) >= lessee.room or any(getattr(now, u.command) is None for u in before.unreadable):
            continue
        charge, charge_trace = (
            (now.charge, now.charge_trace) if now.charge is not None else (before.charge, before.charge_trace)
        )
        refund, refund_trace = (
            (now.refund, now.refund_trace) if now.refund is not None else (before.refund, before.refund_trace)
        )
        driven[now.payment.order_id] = Owed(now.payment, charge, refund, 0, lessee.lease, charge_trace, refund_trace)
    return driven


def _accepted(uow: PaymentUnitOfWork, payment: Payment, envelope: Envelope[Any], owing: dict[str, Owed]) -> None:
    """Answer the command now, or add it to what its payment owes (``owing``)."""
    command = Command.CHARGE if isinstance(envelope.payload, ChargePayment) else Command.REFUND
    status, now = accepted(payment.status, command)
    if now:
        reply = services.charge_reply(payment) if command is Command.CHARGE else services.refund_reply(payment)
        uow.reply(envelope, reply)
        return
    payment.status = status
    before = owing.get(payment.order_id, Owed(payment, None, None))
    trace = current_traceparent()  # the command's own span (``scope``): the driver's work joins its trace
    if command is Command.CHARGE:
        owing[payment.order_id] = dataclasses.replace(before, charge=envelope, charge_trace=trace)
    else:
        owing[payment.order_id] = dataclasses.replace(before, refund=envelope, refund_trace=trace)


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
    return Payment.refused_before_charge(command.order_id, command.idempotency_key)


@dataclass(frozen=True)
class Stepped:
    """How a driven step ended: the payment where it rests now, or the processor's error."""

    owed: Owed
    payment: Payment | None = None
    unavailable: str | None = None
    refused: str | None = None
    failed: str | None = None
    """The step (or its settlement) failed otherwise: a bug, or an answer nobody foresaw; counted in ``attempts``."""
    lost: bool = False
    """Another claim holds the payment now: this step's outcome is not this driver's to record."""
    context: Context | None = None
    """The trace context the step ran in (its command's trace): the replies are sent in it."""


StoreIntent = Callable[[str, str, str], Awaitable[bool]]
"""``DrivenPayments.store_intents`` for one (order id, intent id, lease), committed before it returns."""


class _LostLease(Exception):
    pass


async def step(store_intent: StoreIntent, gateway: PaymentGateway, owed: Owed) -> Stepped:
    """Take the payment through its step with the processor; only the intent id is stored on the way (fenced by
    the claim: a driver whose lease ran out never confirms an intent of its own), in the trace of the command
    it is for."""
    command, trace = (owed.refund, owed.refund_trace) if owed.refund is not None else (owed.charge, owed.charge_trace)
    attributes = {"retrovault.order_id": owed.payment.order_id, "retrovault.message_type": getattr(command, "type", "")}
    with resumed(trace, "drive payment", attributes):
        return dataclasses.replace(await _step(store_intent, gateway, owed), context=captured())


async def _step(store_intent: StoreIntent, gateway: PaymentGateway, owed: Owed) -> Stepped:
    assert owed.lease is not None
    refund_key = owed.refund.payload.idempotency_key if owed.refund is not None else None
    progress = _Progress(store_intent, owed.lease)
    try:
        return Stepped(
            owed, payment=await services.step(progress, gateway, dataclasses.replace(owed.payment), refund_key)
        )
    except _LostLease:
        return Stepped(owed, lost=True)
    except GatewayUnavailable as error:
        return Stepped(owed, unavailable=str(error) or type(error).__name__)
    except GatewayRefused as error:
        return Stepped(owed, refused=str(error) or type(error).__name__)


def readable(uow: PaymentUnitOfWork, claimed: list[Owed]) -> list[Owed]:
    """The claimed payments whose stored commands all decode; each other one is given up on in ``uow``'s
    transaction (its undecodable bytes dead-lettered as stored): one bad row never stops the rest."""
    drivable = []
    for owed in claimed:
        if owed.unreadable:
            assert owed.lease is not None
            problems = "; ".join(f"{u.command} command: {u.error}" for u in owed.unreadable)
            _give_up(uow, owed, owed.lease, f"a stored command cannot be decoded ({problems})")
        else:
            drivable.append(owed)
    return drivable


def settle(units: UnitsOfWork[PaymentUnitOfWork], steps: list[Stepped], max_attempts: int = MAX_ATTEMPTS) -> list[bool]:
    """Record the steps' outcomes and replies in one transaction; for each, whether its payment is to drive
    again now. A payment its claim no longer holds (the lease ran out) is left to its new driver; one whose
    step failed ``max_attempts`` times in a row (``Stepped.failed``) is given up on."""
    again = []
    with units.begin() as uow:
        held = uow.driven.held([s.owed.payment.order_id for s in steps])
        outcomes: list[tuple[Payment, bool, bool]] = []
        for stepped in steps:
            now = held.get(stepped.owed.payment.order_id)
            mine = now is not None and not stepped.lost and now.lease == stepped.owed.lease
            with within(stepped.context) if stepped.context is not None else contextlib.nullcontext():
                again.append(now is not None and mine and _settled(uow, stepped, now, max_attempts, outcomes))
        if outcomes:
            uow.driven.settle(outcomes)
        uow.driven.record_replies()
    return again


def _settled(
    uow: PaymentUnitOfWork, stepped: Stepped, now: Owed, max_attempts: int, outcomes: list[tuple[Payment, bool, bool]]
) -> bool:
    """Answer what the step's outcome answers and add the outcome to ``outcomes`` (stored together), or postpone
    the payment, or give it up; whether it is to drive again now."""
    order_id, lease = stepped.owed.payment.order_id, now.lease
    assert lease is not None
    if stepped.payment is not None:
        payment = stepped.payment
        rests = settled(payment.status, charge_owed=now.charge is not None, refund_owed=now.refund is not None)
        if rests.answer_charge and now.charge is not None:
            uow.reply(now.charge, services.charge_reply(payment))
        payment.status = rests.status
        if rests.answer_refund and now.refund is not None:
            uow.reply(now.refund, services.refund_reply(payment))
        outcomes.append((payment, rests.answer_charge, rests.answer_refund))
        return rests.status in TO_DRIVE
    wait_s = min(FIRST_BACKOFF_S * 2**now.attempts, MAX_BACKOFF_S)
    if stepped.unavailable is not None:
        log.warning("payment %s: processor unavailable (%s); again in %.1f s", order_id, stepped.unavailable, wait_s)
        uow.driven.postpone(order_id, lease, wait_s)
        return False
    if stepped.failed is not None and now.attempts + 1 < max_attempts:
        log.error("payment %s: driving it failed (%s); again in %.1f s", order_id, stepped.failed, wait_s)
        uow.driven.postpone(order_id, lease, wait_s)
        return False
    if stepped.failed is not None:
        reason = f"driving the payment failed {now.attempts + 1} times in a row: {stepped.failed}"
    else:
        reason = f"the processor refused the request: {stepped.refused}"
    _give_up(uow, now, lease, reason)
    return False


def _give_up(uow: PaymentUnitOfWork, now: Owed, lease: str, reason: str) -> None:
    """Dead-letter every command the payment owes a reply to, answer each with ``CommandFailed``, and park it."""
    order_id = now.payment.order_id
    log.error("payment %s: %s; parked until a command comes again", order_id, reason)
    for command, trace in ((now.charge, now.charge_trace), (now.refund, now.refund_trace)):
        if command is not None:
            uow.dead_letter(**dead_letters.of_command(command, trace, reason))
            failed = CommandFailed(order_id=order_id, command=command.type, reason=fit(reason, Reason))
            # Not the reply's id: the real reply, once a command comes again after a fix, must not pass for a copy.
            failure = msgspec.structs.replace(reply_to(command, failed), message_id=uuid.uuid4())
            uow.publish(SAGA_REPLIES, failure, key=str(command.saga_id))
    for unreadable in now.unreadable:  # no saga to tell: its id is in the bytes that do not decode
        uow.dead_letter(**dead_letters.of_unreadable(unreadable, reason))
    uow.driven.park(order_id, lease)


class _Progress:
    """``PaymentRecords`` for a driven step: the intent id is stored at once (before it is confirmed, so a
    retry never creates a second one); the rest waits for ``settle``, which stores it with the replies."""

    def __init__(self, store_intent: StoreIntent, lease: str) -> None:
        self._store_intent = store_intent
        self._lease = lease

    async def open(self, payment: Payment) -> Payment:
        raise AssertionError("a driven payment exists already")

    async def find(self, order_id: str) -> Payment | None:
        raise AssertionError("a driven payment is at hand")

    async def update(self, payment: Payment, **changes: Any) -> Payment:
        intent_id = changes.get("intent_id")
        if intent_id is not None and not await self._store_intent(payment.order_id, intent_id, self._lease):
            raise _LostLease(payment.order_id)
        for name, value in changes.items():
            setattr(payment, name, value)
        return payment
