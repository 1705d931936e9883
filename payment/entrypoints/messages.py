"""Payment's message handlers, and the tables that route each message type to one.

They are coroutines applying one command each; ``ROUTES`` runs a batch's commands concurrently, one order per
task on payment's event loop, with ``payment.entrypoints.concurrency.concurrently_by_order``. With
``RV_PAYMENT_DRIVER`` set (the default), ``accepting`` routes them instead: accepted at once, answered by the
driver; with it off, ``driven_first`` still leaves to the driver a command whose payment it has yet to settle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from contracts.envelope import Envelope
from contracts.payment import ChargePayment, RefundPayment
from contracts.topics import PAYMENT_COMMANDS
from payment import driving, services
from payment.domain.gateway import GatewayRefused, GatewayUnavailable
from payment.entrypoints.concurrency import AsyncRoutes, concurrently_by_order
from payment.entrypoints.driver import Driver
from payment.ports import PaymentUnitOfWork
from plumbing.errors import RetryLater, Unprocessable
from plumbing.routing import Batched, Routes, Scope


async def charge_payment(uow: PaymentUnitOfWork, command: Envelope[ChargePayment]) -> None:
    """Charge once through the gateway; reply PaymentSucceeded or PaymentDeclined."""
    with _gateway_errors():
        uow.reply(command, await services.charge_payment(uow, command.payload))


async def refund_payment(uow: PaymentUnitOfWork, command: Envelope[RefundPayment]) -> None:
    """Refund the order's charge if there was one; reply PaymentRefunded."""
    with _gateway_errors():
        uow.reply(command, await services.refund_payment(uow, command.payload))


@contextmanager
def _gateway_errors() -> Iterator[None]:
    """A processor outage retries the batch with backoff (what was done is stored; a retry resumes from it).

    A refusal no retry can fix (our API key or account, see ``payment.adapters.stripe_errors``) makes the
    command unprocessable: the consumer dead-letters it and tells its saga. The payment keeps its stored progress
    and is never recorded as declined, so an operator's replay after the fix carries on from there.
    """
    try:
        yield
    except GatewayUnavailable as error:
        raise RetryLater(str(error)) from error
    except GatewayRefused as error:
        raise Unprocessable(str(error)) from error


HANDLERS: AsyncRoutes[PaymentUnitOfWork] = {
    PAYMENT_COMMANDS.name: {
        "ChargePayment": charge_payment,
        "RefundPayment": refund_payment,
    },
}


def accepting(driver: Driver) -> Routes[PaymentUnitOfWork]:
    """Payment's commands accepted in the consumer's transaction (``payment.driving.accept``), both kinds in one
    call, in the batch's order: the payments to drive are leased to this instance's ``driver`` in that transaction
    as far as it has room, and handed to it once the transaction has committed; it is woken to claim the rest."""

    def many(uow: PaymentUnitOfWork, commands: list[Envelope[Any]], scope: Scope) -> None:
        lessee = driver.lessee(len(commands))
        if lessee is not None:
            uow.on_rollback.append(functools.partial(driver.give_back, lessee.lease))
            uow.on_commit.append(functools.partial(driver.adopt, lessee))
        if driving.accept(uow, commands, scope, lessee):
            uow.on_commit.append(driver.wake)

    accept = Batched(many)
    return {PAYMENT_COMMANDS.name: {"ChargePayment": accept, "RefundPayment": accept}}


def driven_first(routes: Routes[PaymentUnitOfWork], wake: Callable[[], None]) -> Routes[PaymentUnitOfWork]:
    """``routes`` (the handlers that call Stripe themselves: driver off), except that a command for a payment that
    still owes a reply (accepted while the driver was on, here or in another instance) is accepted too, and left
    to the driver: one payment is never driven by both at once. One statement per batch finds those payments.
    The Stripe calls go first: accepting locks the payments' rows until the batch commits, and the drivers that
    settle them must not wait for Stripe."""
    handled = routes[PAYMENT_COMMANDS.name]["ChargePayment"]
    assert isinstance(handled, Batched) and routes[PAYMENT_COMMANDS.name]["RefundPayment"] is handled

    def many(uow: PaymentUnitOfWork, commands: list[Envelope[Any]], scope: Scope) -> None:
        owing = uow.driven.owing(sorted({c.payload.order_id for c in commands}))
        rest = [c for c in commands if c.payload.order_id not in owing]
        if rest:
            handled.many(uow, rest, scope)
        to_drive = [c for c in commands if c.payload.order_id in owing]
        if to_drive and driving.accept(uow, to_drive, scope):
            uow.on_commit.append(wake)

    either = Batched(many)
    return {PAYMENT_COMMANDS.name: {"ChargePayment": either, "RefundPayment": either}}


ROUTES: Routes[PaymentUnitOfWork] = concurrently_by_order(HANDLERS)
"""The handlers as the consumer runs them (the service sets its own in-flight limit: see bootstrap)."""
