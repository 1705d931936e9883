"""The consumer's accept leases what it accepts to its own instance's driver, on payment's real database: a batch
accepted and driven costs the same three transactions whatever its size (the accept, the intents, the outcomes:
no claim), and a charge accepted and driven on the same instance, even with a copy of it accepted while it is in
flight, makes exactly one PaymentIntent in localstripe."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import sqlalchemy as sa

from contracts.payment import PaymentSucceeded
from coordinator.sagas.create_order import charge_payment
from infra import localstripe
from payment.adapters.stripe_gateway import StripeGateway
from payment.domain.gateway import Confirmation
from payment.domain.payments import Payment
from payment.settings import EMULATOR_KEY
from tests.e2e.test_consumer_contracts import _command, _data
from tests.e2e.test_payment_driver import CountingGateway, accept, driven, replies_to
from tests.support import payment_intents, query, wait_for
from tests.unit.payment.fakes import Together


@contextmanager
def _counted(engine: sa.Engine) -> Iterator[dict[str, int]]:
    """The transactions committed and the statements sent on ``engine`` meanwhile, counted as they go."""
    counts = {"transactions": 0, "statements": 0}

    def committed(_conn: sa.Connection) -> None:
        counts["transactions"] += 1

    def sent(*_args: Any) -> None:
        counts["statements"] += 1

    sa.event.listen(engine, "commit", committed)
    sa.event.listen(engine, "before_cursor_execute", sent)
    try:
        yield counts
    finally:
        sa.event.remove(engine, "commit", committed)
        sa.event.remove(engine, "before_cursor_execute", sent)


def _cost_of_a_batch(size: int) -> dict[str, int]:
    """What accepting ``size`` charges and driving them to their replies costs on payment's database."""
    together = Together(size)  # the batch's Stripe calls answer together, as after one latency
    gateway = CountingGateway(0.2, sleep=lambda _seconds: together.wait())
    batch = [_command(charge_payment, _data()) for _ in range(size)]
    with driven(gateway) as (units, driver, written):
        driver.release()  # as its worker does first: from now on, an accept leases to this driver
        with _counted(units.engine) as counts:
            accept(units, driver, batch)
            wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the batch settled")
        assert driver.claim() == 0  # nothing was left to claim
    assert [type(r) for r in replies_to(written, batch)] == [PaymentSucceeded] * size
    assert len(set(gateway.charged)) == len(gateway.charged) == size
    return counts


def test_a_batch_accepted_and_driven_costs_three_transactions_and_constant_statements_whatever_its_size() -> None:
    one, forty = _cost_of_a_batch(1), _cost_of_a_batch(40)
    assert one["transactions"] == forty["transactions"] == 3  # the accept, the intents, the outcomes: no claim
    assert one["statements"] == forty["statements"]


class _HeldStripe(StripeGateway):
    """localstripe, whose confirmations wait for ``go``: a copy of the charge comes while it is in flight."""

    def __init__(self) -> None:
        super().__init__(EMULATOR_KEY, localstripe.api_base())
        self.go = threading.Event()

    async def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        await asyncio.to_thread(self.go.wait, 30)
        return await super().confirm(intent_id, payment)


def test_a_charge_accepted_and_driven_on_one_instance_is_charged_once_even_with_a_copy_in_flight() -> None:
    gateway = _HeldStripe()
    first = _command(charge_payment, _data())
    copy = msgspec.structs.replace(first, message_id=uuid.uuid4())  # the same command, sent again
    order_id = first.payload.order_id
    with driven(gateway) as (units, driver, written):  # type: ignore[arg-type]
        driver.release()
        accept(units, driver, [first])
        assert driver.in_flight == 1  # leased by the accept and handed over: no claim
        accept(units, driver, [copy])  # while the first is in flight: its lease is live, nothing else takes it
        assert driver.in_flight == 1 and driver.claim() == 0
        gateway.go.set()
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the charge settled")
        replies: list[Any] = replies_to(written, [first, copy])
    [intent] = payment_intents(order_id)
    assert intent.status == "succeeded"
    assert replies == [PaymentSucceeded(order_id=order_id, payment_intent_id=intent.id, amount_cents=4999)]
    [row] = query("payment", "SELECT status, claimed_by, intent_id FROM payments WHERE order_id = :o", o=order_id)
    assert (row.status, row.claimed_by, row.intent_id) == ("SUCCEEDED", None, intent.id)
