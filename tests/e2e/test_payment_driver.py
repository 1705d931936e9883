"""Payment accepts its commands in the consumer's transaction and a driver answers them (``RV_PAYMENT_DRIVER``),
against payment's real database: a batch's charges take one latency round together, a copy of a command in
flight starts no second charge, a redelivery gets the reply from the inbox once it exists, and everything is
answered exactly once; a refusal for good is dead-lettered, a slow call keeps its lease, and switching the
driver off leaves nothing accepted unanswered."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from contracts.codecs import codec_for
from contracts.envelope import Envelope
from contracts.failures import CommandFailed
from contracts.payment import PaymentSucceeded
from contracts.topics import DEAD_LETTERS, PAYMENT_COMMANDS, SAGA_REPLIES
from coordinator.sagas.create_order import charge_payment, refund_payment
from infra import services
from payment.adapters.payment_store import PaymentStore
from payment.adapters.simulated_gateway import SimulatedGateway
from payment.adapters.tables import inbox as payment_inbox
from payment.adapters.tables import outbox as payment_outbox
from payment.adapters.unit_of_work import SqlPaymentUnitOfWork, unit_factory
from payment.domain.gateway import Confirmation, GatewayRefused
from payment.domain.payments import Payment
from payment.entrypoints.driver import Driver
from payment.entrypoints.event_loop import EventLoopThread
from payment.entrypoints.messages import accepting
from plumbing.inbox import Inbox
from plumbing.outbox import OutboxRow, Outgoing
from plumbing.routing import Batched
from plumbing.unit_of_work import Transactions, reply_id
from tests.e2e.test_consumer_contracts import _command, _data
from tests.restocking import set_available
from tests.support import database, payment_intents, place_order, query, settled_saga, wait_for
from tests.unit.payment.fakes import Together


class CountingGateway(SimulatedGateway):
    """The latency gateway, counting the intents it charged (a charge is an intent confirmed for the first time)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.charged: list[str] = []

    async def confirm(self, intent_id: str, payment: Payment) -> Confirmation:
        before = self._status.get(intent_id)
        confirmation = await super().confirm(intent_id, payment)
        if confirmation.succeeded and before != "succeeded":
            self.charged.append(intent_id)
        return confirmation


@contextlib.contextmanager
def driven(
    gateway: SimulatedGateway, lease_s: float = 30.0
) -> Iterator[tuple[Transactions[SqlPaymentUnitOfWork], Driver, list[OutboxRow]]]:
    """Payment's units of work on its real database (each commit's outbox rows kept in a list) and a driver on an
    event loop of its own."""
    engine = database("payment")
    written: list[OutboxRow] = []

    def hand_over(commit: Any, uow: Outgoing) -> None:
        uow.flush()
        commit()
        written.extend(uow.written)

    units = Transactions(engine, payment_outbox, unit_factory(PaymentStore(engine), gateway), hand_over)
    instance = f"test-{uuid.uuid4().hex[:8]}"
    driver = Driver(gateway, instance=instance, max_in_flight=500, lease_s=lease_s, loop=EventLoopThread("t"))
    driver.worker(units)
    yield units, driver, written


def accept(units: Transactions[SqlPaymentUnitOfWork], driver: Driver, commands: list[Envelope[Any]]) -> None:
    """Accept ``commands`` as the consumer does. A driver whose worker has not released its instance's old leases
    yet (``Driver.release``) is leased nothing: its claim takes them."""
    handler = accepting(driver)[PAYMENT_COMMANDS.name]["ChargePayment"]
    assert isinstance(handler, Batched)
    with units.begin() as uow:
        handler.many(uow, commands, lambda _envelope: contextlib.nullcontext())


def replies_to(written: list[OutboxRow], commands: list[Envelope[Any]]) -> list[Any]:
    """The replies written to these commands, in their order (a command not answered has none)."""
    codec = codec_for(SAGA_REPLIES.name)
    replies = {
        e.message_id: e.payload for e in (codec.decode(r.value) for r in written if r.topic == SAGA_REPLIES.name)
    }
    return [replies[reply_id(c.message_id)] for c in commands if reply_id(c.message_id) in replies]


def test_a_batch_of_100_charges_is_answered_after_one_round_of_stripe_calls() -> None:
    together = Together(100)  # each round of Stripe calls answers once all of the batch's calls wait
    gateway = CountingGateway(0.2, sleep=lambda _seconds: together.wait())
    batch = [_command(charge_payment, _data()) for _ in range(100)]
    with driven(gateway) as (units, driver, written):
        accept(units, driver, batch)
        assert written == []  # accepted: nothing answered in the consumer's transaction
        assert driver.claim() == 100
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the batch settled")
        replies = replies_to(written, batch)
    assert together.waiting == 200  # every create, then every confirm, in flight at the same time
    assert [type(r) for r in replies] == [PaymentSucceeded] * 100
    ids = [c.payload.order_id for c in batch]
    rows = query("payment", "SELECT status, intent_id, claimed_by FROM payments WHERE order_id = ANY(:ids)", ids=ids)
    assert sorted(r.status for r in rows) == ["SUCCEEDED"] * 100 and {r.claimed_by for r in rows} == {None}
    assert len(set(gateway.charged)) == len(gateway.charged) == 100


def test_a_copy_of_a_charge_in_flight_starts_no_second_charge_and_gets_the_one_reply() -> None:
    calls_go = threading.Event()  # the processor answers nothing until the copy has been accepted
    gateway = CountingGateway(0.2, sleep=lambda _seconds: asyncio.to_thread(calls_go.wait, 30))
    first = _command(charge_payment, _data())
    copy = msgspec.structs.replace(first, message_id=uuid.uuid4())  # the same command, sent again
    with driven(gateway) as (units, driver, written):
        accept(units, driver, [first])
        assert driver.claim() == 1
        accept(units, driver, [copy])  # while the first is in flight
        assert driver.claim() == 0  # held by the first claim: nobody drives it twice
        calls_go.set()
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the charge settled")
        replies = replies_to(written, [first, copy])
    assert [type(r) for r in replies] == [PaymentSucceeded]  # one reply, to the copy: the command owed it last
    assert replies_to(written, [copy]) == replies
    assert len(gateway.charged) == 1


@pytest.fixture
def payment_driven_with_latency() -> Iterator[None]:
    """The payment service restarted with its driver on and the latency gateway (200 ms a call), then as it was."""
    restarted_with({"RV_PAYMENT_GATEWAY": "latency", "RV_PAYMENT_DRIVER": "true"})
    try:
        yield
    finally:
        restarted_with({})


def restarted_with(env: dict[str, str]) -> None:
    instances = services.instances("payment")
    for k in instances:
        services.stop("payment", instance=k)
        services.start("payment", env or None, instance=k)
    for k in instances:
        services.wait_healthy("payment", instance=k)


@pytest.mark.usefixtures("payment_driven_with_latency")
def test_the_service_with_its_driver_completes_every_saga_charging_each_order_once() -> None:
    set_available("SNES-SMW", 1000)
    order_ids = [place_order([("SNES-SMW", 1)], customer=f"customer-{i}").json()["order_id"] for i in range(30)]
    sagas = [settled_saga(order_id, timeout_s=60) for order_id in order_ids]
    assert {saga["state"] for saga in sagas} == {"COMPLETED"}
    rows = query(
        "payment", "SELECT status, intent_id, claimed_by FROM payments WHERE order_id = ANY(:ids)", ids=order_ids
    )
    assert len(rows) == 30 and {r.status for r in rows} == {"SUCCEEDED"} and {r.claimed_by for r in rows} == {None}
    assert len({r.intent_id for r in rows}) == 30


@dataclass(frozen=True)
class Delivered:
    """A command as the inbox sees it."""

    envelope: Envelope[Any]
    topic: str = PAYMENT_COMMANDS.name


def test_a_redelivered_command_in_flight_gets_no_reply_until_the_driver_records_it_in_the_inbox() -> None:
    calls_go = threading.Event()
    gateway = CountingGateway(0.2, sleep=lambda _seconds: asyncio.to_thread(calls_go.wait, 30))
    asked = _command(charge_payment, _data())
    inbox = Inbox(payment_inbox)
    with driven(gateway) as (units, driver, written):
        with units.begin() as uow:
            assert inbox.claim(uow.conn, [Delivered(asked)]) == {asked.message_id}
        accept(units, driver, [asked])
        assert driver.claim() == 1
        with units.begin() as uow:  # the same command delivered again while its charge is made
            assert inbox.claim(uow.conn, [Delivered(asked)]) == set()
            assert inbox.recorded_replies(uow.conn, [asked.message_id]) == []  # nothing to send yet
        calls_go.set()
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the charge settled")
        with units.begin() as uow:  # delivered once more: the consumer sends the recorded reply
            [recorded] = inbox.recorded_replies(uow.conn, [asked.message_id])
    [reply] = [row for row in written if row.topic == SAGA_REPLIES.name]
    assert recorded["value"] == reply.value
    assert len(gateway.charged) == 1


def test_a_charge_and_its_refund_in_one_batch_cancel_the_payment_and_both_are_answered() -> None:
    gateway = CountingGateway()  # answers at once
    data = _data()
    charge, refund = _command(charge_payment, data), _command(refund_payment, data)
    with driven(gateway) as (units, driver, written):
        accept(units, driver, [charge, refund])
        assert driver.claim() == 1
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the payment settled")
        replies = replies_to(written, [charge, refund])
    assert [type(r).__name__ for r in replies] == ["PaymentDeclined", "PaymentRefunded"]
    assert gateway.charged == []
    [row] = query(
        "payment", "SELECT status, charge_command, refund_command FROM payments WHERE order_id = :id", id=data.order_id
    )
    assert (row.status, row.charge_command, row.refund_command) == ("CANCELLED", None, None)


class RefusingGateway(CountingGateway):
    """Refuses every intent as Stripe refuses a revoked API key: no retry can help."""

    async def create_intent(self, payment: Payment) -> str:
        raise GatewayRefused("Invalid API Key provided: sk_test_****oked (AuthenticationError)")


def test_a_command_the_processor_refuses_for_good_is_dead_lettered_with_its_reason_and_its_replay_charges() -> None:
    asked = _command(charge_payment, _data())
    with driven(RefusingGateway()) as (units, driver, written):
        accept(units, driver, [asked])
        assert driver.claim() == 1
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the refusal settled")
    reason = "the processor refused the request: Invalid API Key provided: sk_test_****oked (AuthenticationError)"
    [letter] = [row for row in written if row.topic == DEAD_LETTERS.name]
    assert letter.key == str(asked.saga_id) and letter.headers["dlq.reason"] == reason
    assert (letter.headers["dlq.topic"], letter.headers["dlq.service"]) == (PAYMENT_COMMANDS.name, "payment")
    assert letter.headers["message_id"] == str(asked.message_id)
    assert codec_for(PAYMENT_COMMANDS.name).decode(letter.value) == asked  # replayable as it came
    [failed] = [codec_for(SAGA_REPLIES.name).decode(r.value).payload for r in written if r.topic == SAGA_REPLIES.name]
    assert failed == CommandFailed(order_id=asked.payload.order_id, command="ChargePayment", reason=reason)
    [row] = query(
        "payment",
        "SELECT status, charge_command, claimed_by, lease_until IS NULL AS parked FROM payments WHERE order_id = :o",
        o=asked.payload.order_id,
    )
    assert (row.status, row.charge_command, row.claimed_by, row.parked) == ("PENDING", None, None, True)

    gateway = CountingGateway()  # the key fixed: the operator replays the dead letter
    with driven(gateway) as (units, driver, written):
        accept(units, driver, [codec_for(PAYMENT_COMMANDS.name).decode(letter.value)])
        assert driver.claim() == 1
        wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the replay settled")
        assert [type(r) for r in replies_to(written, [asked])] == [PaymentSucceeded]
    assert len(gateway.charged) == 1


def test_a_lease_is_renewed_while_its_stripe_call_goes_on_so_no_other_instance_takes_the_payment() -> None:
    calls_go = threading.Event()
    gateway = CountingGateway(0.2, sleep=lambda _seconds: asyncio.to_thread(calls_go.wait, 60))
    asked = _command(charge_payment, _data())
    order_id = asked.payload.order_id
    stop = threading.Event()
    with driven(gateway, lease_s=1.0) as (units, driver, written):
        worker = threading.Thread(target=driver.run, args=(stop,))
        worker.start()
        try:
            accept(units, driver, [asked])  # wakes the worker, which claims the payment
            claimed = "SELECT claimed_by, lease_until FROM payments WHERE order_id = :o AND claimed_by IS NOT NULL"
            [first] = wait_for(lambda: query("payment", claimed, o=order_id) or None, timeout_s=30, what="the claim")
            past = "SELECT now() > :t AS past"
            wait_for(
                lambda: query("payment", past, t=first.lease_until)[0].past or None,
                timeout_s=30,
                what="the first lease to end",
            )
            other = Driver(gateway, instance="test-other", max_in_flight=500, lease_s=1.0, loop=EventLoopThread("o"))
            other.worker(units)
            assert other.claim() == 0  # renewed: still the first claim's
            [now] = query("payment", claimed, o=order_id)
            assert now.claimed_by == first.claimed_by and now.lease_until > first.lease_until
            calls_go.set()
            wait_for(lambda: driver.in_flight == 0 or None, timeout_s=30, what="the charge settled")
        finally:
            calls_go.set()
            stop.set()
            worker.join(10)
        replies = replies_to(written, [asked])
    assert [type(r) for r in replies] == [PaymentSucceeded] and len(gateway.charged) == 1


@pytest.fixture
def payment_without_driver() -> Iterator[None]:
    """The payment service restarted with its driver switched off, then as it was."""
    restarted_with({"RV_PAYMENT_DRIVER": "false"})
    try:
        yield
    finally:
        restarted_with({})


@pytest.mark.usefixtures("payment_without_driver")
def test_with_the_driver_switched_off_the_service_still_settles_what_was_accepted_with_it_on() -> None:
    asked = _command(charge_payment, _data())
    order_id = asked.payload.order_id
    inbox = Inbox(payment_inbox)
    with driven(CountingGateway()) as (units, driver, _written):  # only accepted here: never driven by this driver
        with units.begin() as uow:
            assert inbox.claim(uow.conn, [Delivered(asked)]) == {asked.message_id}
        accept(units, driver, [asked])
        done = "SELECT status, claimed_by, intent_id FROM payments WHERE order_id = :o AND charge_command IS NULL"
        [row] = wait_for(lambda: query("payment", done, o=order_id) or None, timeout_s=30, what="the service to settle")
        with units.begin() as uow:
            [recorded] = inbox.recorded_replies(uow.conn, [asked.message_id])
    assert (row.status, row.claimed_by) == ("SUCCEEDED", None)
    [intent] = payment_intents(order_id)  # charged once, through the service's own gateway (the emulator)
    assert (intent.status, intent.id) == ("succeeded", row.intent_id)
    reply = codec_for(SAGA_REPLIES.name).decode(recorded["value"])
    assert reply.payload == PaymentSucceeded(order_id=order_id, payment_intent_id=intent.id, amount_cents=4999)
