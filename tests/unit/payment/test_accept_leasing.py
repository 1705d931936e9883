"""The consumer's accept leases the payments it accepts to its own instance's driver (``payment.driving.Lessee``),
against fakes: handed over once the accept commits, driven with no claim of their own, exactly once; never one a
live claim holds, never more than the driver has room for, and the room comes back when the accept does not
commit. A group of intents is stored in one statement, still fenced per payment by its lease."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from contracts.payment import PaymentDeclined, PaymentRefunded, PaymentSucceeded
from contracts.topics import PAYMENT_COMMANDS
from payment import driving
from payment.domain.payments import PaymentStatus
from payment.entrypoints.driver import Driver
from payment.entrypoints.event_loop import EventLoopThread
from payment.entrypoints.messages import accepting
from plumbing.routing import Batched
from tests.support import wait_for
from tests.unit.fakes import FakeUnitsOfWork, command
from tests.unit.payment.fakes import FakeGateway, FakePaymentUnitOfWork, Together, charge
from tests.unit.payment.test_driving import refund

LOOP = EventLoopThread("test-payment-accept-leasing")


def _driver(uow: FakePaymentUnitOfWork, max_in_flight: int = 500) -> tuple[Driver, FakeUnitsOfWork[Any]]:
    """A driver over ``uow`` that has released its instance's old leases (as its worker does first)."""
    units = FakeUnitsOfWork(uow)
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=max_in_flight, loop=LOOP)
    driver.worker(units)
    driver.release()
    return driver, units


def _accept(driver: Driver, units: FakeUnitsOfWork[Any], commands: list[Envelope[Any]]) -> list[str]:
    """Accept ``commands`` as the consumer does (one transaction), then run what waits for its commit; the names
    of those callbacks."""
    handler = accepting(driver)[PAYMENT_COMMANDS.name]["ChargePayment"]
    assert isinstance(handler, Batched)
    with units.begin() as uow:
        uow.on_commit.clear()
        handler.many(uow, commands, driving._unscoped)
    for committed in uow.on_commit:
        committed()
    return [getattr(c, "__name__", getattr(getattr(c, "func", None), "__name__", "")) for c in uow.on_commit]


def test_a_batch_accepted_is_driven_by_its_instance_without_a_claim_each_charged_once() -> None:
    uow = FakePaymentUnitOfWork()
    uow.gateway.answer_together = Together(100)
    driver, units = _driver(uow)
    released = units.committed
    callbacks = _accept(driver, units, [command(charge(f"o-{i}")) for i in range(100)])
    assert callbacks == ["adopt"]  # every payment leased: nothing left to claim, the driver is not woken
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="every charge settled")
    assert [type(reply) for reply in uow.replies] == [PaymentSucceeded] * 100
    assert len(uow.gateway.charges) == 100 and len(uow.gateway.intents) == 100
    assert uow.driven.intent_statements == 1  # 100 intents stored in one statement
    assert units.committed - released == 3  # the accept, the intents, the outcomes: no claim transaction
    assert uow.driven.owing([f"o-{i}" for i in range(100)]) == set()


def test_the_accept_leases_only_what_the_driver_has_room_for_and_the_claim_takes_the_rest() -> None:
    uow = FakePaymentUnitOfWork()
    uow.gateway.answer_together = Together(2)
    driver, units = _driver(uow, max_in_flight=2)
    callbacks = _accept(driver, units, [command(charge(f"o-{i}")) for i in range(3)])
    assert callbacks == ["adopt", "wake"]
    assert driver.in_flight == 2 and uow.driven.rows["o-2"].claimed_by is None
    assert driver.claim() == 0  # no room meanwhile
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="the two leased settled")
    uow.gateway.answer_together = None
    assert driver.claim() == 1
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="the third settled")
    assert len(uow.replies) == 3 and len(uow.gateway.charges) == 3


def test_a_payment_a_live_claim_holds_is_not_taken_by_an_accept() -> None:
    uow = FakePaymentUnitOfWork()
    driver, units = _driver(uow)
    driving.accept(uow, [command(charge("o-1"))])
    [claimed] = uow.driven.claim("payment-2/a", 100, 30.0)  # another instance drives it
    assert _accept(driver, units, [command(refund())]) == ["adopt", "wake"]  # nothing leased: its room given back
    assert driver.in_flight == 0 and uow.driven.rows["o-1"].claimed_by == "payment-2/a"
    uow.driven.now = 31.0  # its lease ran out: an accept may take it over, as a claim may
    assert _accept(driver, units, [command(refund())]) == ["adopt"]
    wait_for(lambda: driver.in_flight == 0 or None, timeout_s=10, what="o-1 settled")
    assert uow.payments.rows["o-1"].status is PaymentStatus.CANCELLED and uow.gateway.charges == []
    assert uow.driven.store_intents([("o-1", "pi_9", claimed.lease or "")]) == [False]  # the old claim is fenced


def test_a_payment_leased_by_an_accept_is_driven_with_the_commands_it_owed_before() -> None:
    uow = FakePaymentUnitOfWork(FakeGateway())
    driver, _units = _driver(uow)
    asked = command(charge("o-1"))
    driving.accept(uow, [asked])  # accepted earlier, nobody drives it yet (e.g. an outage's backoff)
    lessee = driver.lessee(1)
    assert lessee is not None
    assert driving.accept(uow, [command(refund())], lessee=lessee) is False
    [owed] = lessee.leased
    assert owed.charge == asked and owed.refund is not None and owed.lease == lessee.lease
    driver.adopt(lessee)
    wait_for(lambda: len(uow.replies) == 2 or None, timeout_s=10, what="both commands answered")
    # The refund came before the charge was made: it cancels it; the charge owed before is answered too.
    assert [type(reply) for reply in uow.replies] == [PaymentDeclined, PaymentRefunded]
    assert uow.sent[0].envelope.causation_id == asked.message_id and uow.gateway.charges == []


def test_the_room_kept_for_an_accept_that_does_not_commit_comes_back() -> None:
    uow = FakePaymentUnitOfWork()
    driver, _units = _driver(uow, max_in_flight=5)
    failed = FakePaymentUnitOfWork()
    handler = accepting(driver)[PAYMENT_COMMANDS.name]["ChargePayment"]
    assert isinstance(handler, Batched)
    handler.many(failed, [command(charge(f"o-{i}")) for i in range(3)], driving._unscoped)
    assert driver.in_flight == 3  # kept for the accept until it ends
    assert failed.on_commit and failed.on_rollback
    for rolled_back in failed.on_rollback:  # its transaction did not commit: ``on_commit`` never runs
        rolled_back()
    assert driver.in_flight == 0
    lessee = driver.lessee(9)
    assert lessee is not None and lessee.room == 5
    driver.give_back(lessee.lease)
    driver.adopt(lessee)  # given back already: nothing to drive
    assert driver.in_flight == 0


def test_nothing_is_leased_before_the_driver_released_its_instances_old_leases() -> None:
    uow = FakePaymentUnitOfWork()
    driver = Driver(uow.gateway, instance="payment-1", max_in_flight=5, loop=LOOP)
    driver.worker(FakeUnitsOfWork(uow))
    assert driver.lessee(3) is None
    driver.release()
    assert driver.lessee(3) is not None
