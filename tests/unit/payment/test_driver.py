"""Payment's driver worker against fakes: a batch's accepted charges go to the processor together, the worker
waits out a database outage (and any error not the database's) instead of dying, a claim's lease is renewed
while its Stripe calls go on, a payment whose stored command does not decode or whose step keeps failing is
given up on (dead-lettered, parked) without stopping the others, and no wake-up is lost."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

from contracts.failures import CommandFailed
from contracts.payment import PaymentSucceeded
from payment import driving
from payment.domain.payments import Payment, PaymentStatus
from payment.entrypoints.driver import Driver
from payment.entrypoints.event_loop import EventLoopThread
from payment.ports import Owed, Unreadable
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


def test_a_claimed_payment_whose_stored_command_does_not_decode_is_dead_lettered_as_stored_and_parked() -> None:
    uow = FakePaymentUnitOfWork()
    units = FakeUnitsOfWork(uow)
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=500, loop=LOOP)
    driver.worker(units)
    driving.accept(uow, [command(charge("o-1")), command(charge("o-2"))])
    row = uow.driven.rows["o-1"]  # as a command written by another version reads back
    row.charge, row.unreadable = None, (Unreadable("charge", b"\xff\x00not msgpack", "00-trace", "DecodeError: bad"),)
    assert driver.claim() == 1  # o-2 is driven all the same
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="o-2 settled")
    assert uow.replies == [PaymentSucceeded(order_id="o-2", payment_intent_id="pi_1", amount_cents=4499)]
    [letter] = uow.dead_letters
    assert letter["value"] == b"\xff\x00not msgpack" and letter["key"] is None
    assert letter["reason"] == "a stored command cannot be decoded (charge command: DecodeError: bad)"
    assert letter["headers"] == {"dlq.service": "payment", "traceparent": "00-trace"}
    assert uow.driven.owing(["o-1"]) == set() and uow.driven.rows["o-1"].claimed_by is None  # parked
    assert uow.payments.rows["o-1"].status is PaymentStatus.PENDING and uow.gateway.intents.keys() == {"pi_1"}


class _Crashing(FakeGateway):
    """Fails every intent with an error nobody foresaw (not the processor's: a bug)."""

    async def create_intent(self, payment: Payment) -> str:
        raise KeyError("id")


def test_a_step_that_keeps_failing_with_a_bug_is_retried_then_dead_lettered_and_parked() -> None:
    uow = FakePaymentUnitOfWork(_Crashing())
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=500, max_attempts=3, loop=LOOP)
    driver.worker(FakeUnitsOfWork(uow))
    asked = command(charge("o-1"))
    driving.accept(uow, [asked])
    for attempts in (1, 2):
        assert driver.claim() == 1
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="the failure settled")
        assert uow.driven.rows["o-1"].attempts == attempts and uow.dead_letters == []
        assert driver.claim() == 0  # waits out its backoff
        uow.driven.now += driving.MAX_BACKOFF_S
    assert driver.claim() == 1
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="the third failure settled")
    reason = "driving the payment failed 3 times in a row: KeyError: 'id'"
    assert [letter["reason"] for letter in uow.dead_letters] == [reason]
    assert uow.replies == [CommandFailed(order_id="o-1", command="ChargePayment", reason=reason)]
    assert uow.driven.owing(["o-1"]) == set() and driver.claim() == 0  # parked until a command comes again


def test_a_settlement_that_fails_otherwise_than_by_the_database_fails_only_its_own_payment() -> None:
    uow = FakePaymentUnitOfWork()
    uow.gateway.answer_together = Together(2)  # both steps end together: their settlements share a group
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=500, loop=LOOP)
    driver.worker(FakeUnitsOfWork(uow))
    settle = uow.driven.settle

    def settle_but_o1(outcomes: list[tuple[Payment, bool, bool]]) -> None:
        if any(payment.order_id == "o-1" for payment, _, _ in outcomes):
            raise TypeError("a bug in o-1's settlement")
        settle(outcomes)

    uow.driven.settle = settle_but_o1  # type: ignore[method-assign]
    driving.accept(uow, [command(charge("o-1")), command(charge("o-2"))])
    assert driver.claim() == 2
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="both settled")
    assert [reply.order_id for reply in uow.replies if isinstance(reply, PaymentSucceeded)] == ["o-2"]
    assert uow.driven.rows["o-1"].attempts == 1 and uow.driven.owing(["o-1", "o-2"]) == {"o-1"}  # again later


class _ScanFails(FakeUnitsOfWork[FakePaymentUnitOfWork]):
    """Units of work whose first ``failures`` transactions fail with an error that is not the database's."""

    def __init__(self, uow: FakePaymentUnitOfWork, failures: int) -> None:
        super().__init__(uow)
        self.failures = failures

    @contextmanager
    def begin(self) -> Iterator[FakePaymentUnitOfWork]:
        if self.failures > 0:
            self.failures -= 1
            raise ValueError("not the database")
        with super().begin() as uow:
            yield uow


def test_the_worker_outlives_an_error_that_is_not_the_databases() -> None:
    uow = FakePaymentUnitOfWork()
    units = _ScanFails(uow, failures=2)
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=500, scan_every_s=0.01, loop=LOOP)
    worker = driver.worker(units)
    driving.accept(uow, [command(charge("o-1"))])
    with running(driver, worker.run) as thread:
        wait_for(lambda: uow.replies or None, timeout_s=10, what="the charge answered")
        assert thread.is_alive()
    assert uow.replies == [PaymentSucceeded(order_id="o-1", payment_intent_id="pi_1", amount_cents=4499)]


def test_a_driver_with_no_room_is_woken_when_a_payment_settles_not_at_its_next_scan() -> None:
    uow = FakePaymentUnitOfWork()
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=1, scan_every_s=600, loop=LOOP)
    worker = driver.worker(FakeUnitsOfWork(uow))
    driving.accept(uow, [command(charge("o-1")), command(charge("o-2"))])
    with running(driver, worker.run):
        wait_for(lambda: len(uow.replies) == 2 or None, timeout_s=10, what="both charges answered")
    assert uow.gateway.charges == ["pi_1", "pi_2"]


def test_a_wake_that_comes_while_a_claim_runs_is_kept() -> None:
    uow = FakePaymentUnitOfWork()
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=500, scan_every_s=600, loop=LOOP)
    worker = driver.worker(FakeUnitsOfWork(uow))
    claim = uow.driven.claim

    def claim_then_accept(lease: str, limit: int, lease_s: float) -> list[Owed]:
        claimed = claim(lease, limit, lease_s)
        if not uow.driven.rows.get("o-2"):  # a consumer commits a payment (and wakes the driver) meanwhile
            driving.accept(uow, [command(charge("o-2"))])
            driver.wake()
        return claimed

    uow.driven.claim = claim_then_accept  # type: ignore[method-assign]
    driving.accept(uow, [command(charge("o-1"))])
    with running(driver, worker.run):
        wait_for(lambda: len(uow.replies) == 2 or None, timeout_s=10, what="both charges answered")


@contextmanager
def running(driver: Driver, run: Callable[[threading.Event], None]) -> Iterator[threading.Thread]:
    """``driver``'s worker loop ``run`` on a thread of its own until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(stop,))
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        driver.wake()  # out of its wait at once
        thread.join(5)
    assert not thread.is_alive()
