"""Payment's driver worker against fakes: a batch's accepted charges go to the processor together, the worker
waits out a database outage instead of dying, and a claim's lease is renewed while its Stripe calls go on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

from contracts.payment import PaymentSucceeded
from payment import driving
from payment.domain.payments import Payment
from payment.entrypoints.driver import Driver
from payment.entrypoints.event_loop import EventLoopThread
from tests.support import wait_for
from tests.unit.fakes import FakeUnitsOfWork, command
from tests.unit.payment.fakes import FakeGateway, FakePaymentUnitOfWork, Together, charge

LOOP = EventLoopThread("test-payment-driver")


def test_a_batchs_accepted_charges_are_in_flight_together_and_each_answered_once() -> None:
    uow = FakePaymentUnitOfWork()
    uow.gateway.answer_together = Together(100)
    units = FakeUnitsOfWork(uow)
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=500, loop=LOOP)
    driver.worker(units)
    driving.accept(uow, [command(charge(f"o-{i}")) for i in range(100)])
    assert driver.claim() == 100
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="every charge settled")
    assert uow.gateway.most_in_flight == 100 and len(uow.gateway.charges) == 100
    assert [type(reply) for reply in uow.replies] == [PaymentSucceeded] * 100
    assert units.committed < 10  # claim, intents and outcomes in a few shared transactions, not 2 per charge


class _Unavailable(FakeUnitsOfWork[FakePaymentUnitOfWork]):
    """Units of work whose first ``down`` transactions fail as when the database is unreachable."""

    def __init__(self, uow: FakePaymentUnitOfWork, down: int) -> None:
        super().__init__(uow)
        self.down = down

    @contextmanager
    def begin(self) -> Iterator[FakePaymentUnitOfWork]:
        if self.down > 0:
            self.down -= 1
            refused = psycopg.OperationalError("connection refused")
            raise sa.exc.OperationalError("BEGIN", {}, refused)
        with super().begin() as uow:
            yield uow


def test_the_worker_waits_out_a_database_outage_and_then_drives_what_was_accepted() -> None:
    uow = FakePaymentUnitOfWork()
    units = _Unavailable(uow, down=2)
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=500, scan_every_s=0.01, loop=LOOP)
    worker = driver.worker(units)
    driving.accept(uow, [command(charge("o-1"))])
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: uow.replies or None, timeout_s=10, what="the charge answered")
    finally:
        stop.set()
        thread.join(5)
    assert uow.replies == [PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)]
    assert units.down == 0 and not thread.is_alive()


class _Slow(FakeGateway):
    """Creates no intent until ``go`` is set: a Stripe call that outlives the lease."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    async def create_intent(self, payment: Payment) -> str:
        await asyncio.to_thread(self.go.wait, 10)
        return await super().create_intent(payment)


def test_a_claim_whose_stripe_call_outlives_the_lease_keeps_the_payment_by_renewing_it() -> None:
    uow = FakePaymentUnitOfWork(_Slow())
    units = FakeUnitsOfWork(uow)
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=500, lease_s=3.0, loop=LOOP)
    driver.worker(units)
    driving.accept(uow, [command(charge("o-1"))])
    assert driver.claim() == 1
    assert uow.driven.rows["o-1"].lease_until == 3.0
    uow.driven.now = 2.0  # the call goes on
    assert driver.renew(every_s=0) is True
    assert uow.driven.rows["o-1"].lease_until == 5.0
    uow.driven.now = 4.0  # past the first lease: another instance would have taken the payment over
    assert uow.driven.claim("payment-2/a", 100, 3.0) == []
    assert isinstance(uow.gateway, _Slow)
    uow.gateway.go.set()
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="the charge settled")
    assert uow.replies == [PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)]
    assert uow.gateway.charges == ["pi_1"]
    assert driver.renew(every_s=0) is False  # nothing in flight: no lease to renew
