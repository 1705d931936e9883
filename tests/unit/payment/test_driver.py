"""Payment's driver worker against fakes: a batch's accepted charges go to the processor together, and the
worker waits out a database outage instead of dying."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

from contracts.payment import PaymentSucceeded
from payment import driving
from payment.entrypoints.driver import Driver
from payment.entrypoints.event_loop import EventLoopThread
from tests.support import wait_for
from tests.unit.fakes import FakeUnitsOfWork, command
from tests.unit.payment.fakes import FakePaymentUnitOfWork, Together, charge

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
