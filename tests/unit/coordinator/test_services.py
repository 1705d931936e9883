"""The coordinator's use cases against fakes: no PostgreSQL, no Kafka, no HTTP."""

from __future__ import annotations

import copy
import uuid
from contextlib import nullcontext
from typing import Any

import msgspec
import pytest

from contracts.base import Line, PricedLine
from contracts.catalog import ReleaseStock, ReserveStock, StockReleased, StockReserved
from contracts.envelope import Envelope
from contracts.failures import CommandFailed
from contracts.orders import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.topics import CATALOG_COMMANDS
from coordinator import services
from coordinator.engine.engine import command_id
from coordinator.engine.instance import SagaInstance, SagaState
from coordinator.sagas import SAGAS, saga_id_for
from coordinator.sagas.create_order import OrderSagaData
from plumbing.errors import Unprocessable
from tests.samples import placed
from tests.unit.coordinator.fakes import FakeCoordinatorUnitOfWork, coordinator, reply_to


class Scopes:
    """A batch's ``scope``: notes each reply it is entered for."""

    def __init__(self) -> None:
        self.entered: list[uuid.UUID] = []

    def __call__(self, envelope: Envelope[Any]) -> nullcontext[None]:
        self.entered.append(envelope.message_id)
        return nullcontext()


def started(uow: FakeCoordinatorUnitOfWork, order_id: str = "o1") -> uuid.UUID:
    saga = services.start_saga(uow, placed(order_id))
    assert saga is not None
    return saga.saga_id


def answer(uow: FakeCoordinatorUnitOfWork, saga_id: uuid.UUID, *payloads: Any) -> None:
    """Apply one reply per payload, each in a batch of its own, to the command the saga awaits then."""
    for payload in payloads:
        services.apply_replies(uow, [reply_to(uow.sagas.rows[saga_id], payload)], Scopes())


def sent_types(uow: FakeCoordinatorUnitOfWork) -> list[type[Any]]:
    return [type(envelope.payload) for envelope in uow.commands()]


def saga(uow: FakeCoordinatorUnitOfWork, saga_id: uuid.UUID) -> SagaInstance:
    return uow.sagas.rows[saga_id]


def test_a_placed_order_starts_one_saga_and_sends_reserve_stock() -> None:
    uow = FakeCoordinatorUnitOfWork()
    new = services.start_saga(uow, placed("o1"))
    assert new is not None and new.saga_id == saga_id_for("create_order", "o1")
    stored = saga(uow, new.saga_id)
    assert (stored.state, stored.current_action, stored.attempts) == (SagaState.RUNNING, "reserve_stock", 1)
    assert stored.version == 1
    assert stored.data == OrderSagaData(
        order_id="o1",
        customer_id="c-1",
        lines=[PricedLine(sku="SNES-SMW", quantity=2, unit_price_cents=4499)],
        total_cents=8998,
        currency="usd",
        payment_method="pm_card_visa",
    )
    (sent,) = uow.sent
    assert (sent.topic, sent.key) == (CATALOG_COMMANDS.name, str(new.saga_id))
    assert sent.envelope.payload == ReserveStock(order_id="o1", lines=[Line(sku="SNES-SMW", quantity=2)])
    assert sent.envelope.message_id == command_id(new.saga_id, "reserve_stock") == stored.awaiting_message_id
    assert uow.sagas.kinds(new.saga_id) == ["state_changed", "command_sent"]


def test_a_redelivered_order_placed_starts_no_saga() -> None:
    uow = FakeCoordinatorUnitOfWork()
    event = placed("o1")
    assert services.start_saga(uow, event) is not None
    assert services.start_saga(uow, event) is None
    assert len(uow.sagas.rows) == 1
    assert sent_types(uow) == [ReserveStock]
    assert len(uow.sagas.history) == 2


def test_replies_drive_a_saga_to_completed_with_approve_order_last() -> None:
    uow = FakeCoordinatorUnitOfWork()
    saga_id = started(uow)
    answer(uow, saga_id, StockReserved(order_id="o1"))
    answer(uow, saga_id, PaymentSucceeded(order_id="o1", payment_intent_id="pi_1", amount_cents=8998))
    assert uow.commands()[-1].payload == ApproveOrder(order_id="o1")
    answer(uow, saga_id, OrderApproved(order_id="o1"))
    assert sent_types(uow) == [ReserveStock, ChargePayment, ApproveOrder]
    done = saga(uow, saga_id)
    assert (done.state, done.current_action, done.deadline_at, done.version) == (SagaState.COMPLETED, None, None, 4)
    assert done.data.payment_intent_id == "pi_1"
    assert uow.sagas.kinds(saga_id)[-2:] == ["reply_received", "state_changed"]


def test_a_failure_reply_compensates_the_done_steps_in_reverse_order_then_rejects() -> None:
    uow = FakeCoordinatorUnitOfWork()
    saga_id = started(uow)
    answer(uow, saga_id, StockReserved(order_id="o1"))
    answer(uow, saga_id, PaymentDeclined(order_id="o1", reason="card declined"))
    assert saga(uow, saga_id).state is SagaState.COMPENSATING
    answer(uow, saga_id, StockReleased(order_id="o1"))
    assert uow.commands()[-1].payload == RejectOrder(order_id="o1", reason="card declined")
    answer(uow, saga_id, OrderRejected(order_id="o1"))
    assert sent_types(uow) == [ReserveStock, ChargePayment, ReleaseStock, RejectOrder]
    assert (saga(uow, saga_id).state, saga(uow, saga_id).failure_reason) == (SagaState.COMPENSATED, "card declined")


def test_two_replies_to_one_saga_in_one_batch_share_one_lock_one_update_and_one_insert() -> None:
    uow = FakeCoordinatorUnitOfWork()
    saga_id = started(uow)
    reserved = reply_to(saga(uow, saga_id), StockReserved(order_id="o1"))
    charge = command_id(saga_id, "charge_payment")  # not sent yet: the first reply of the batch sends it
    paid = reply_to(
        saga(uow, saga_id), PaymentSucceeded(order_id="o1", payment_intent_id="pi_1", amount_cents=8998), command=charge
    )
    uow.sagas.calls.clear()
    scopes = Scopes()

    services.apply_replies(uow, [reserved, paid], scopes)

    assert uow.sagas.calls == ["lock_many", "save_many", "record"]
    assert uow.sagas.locked[-1] == [saga_id]
    assert scopes.entered == [reserved.message_id, paid.message_id]
    assert sent_types(uow) == [ReserveStock, ChargePayment, ApproveOrder]
    advanced = saga(uow, saga_id)
    assert (advanced.current_action, advanced.version) == ("approve_order", 3)


def test_a_second_reply_to_an_answered_command_is_only_recorded() -> None:
    uow = FakeCoordinatorUnitOfWork()
    first, second = started(uow, "o1"), started(uow, "o2")
    stray = reply_to(saga(uow, first), StockReserved(order_id="o1"), message_id=uuid.uuid4())
    batch = [
        reply_to(saga(uow, first), StockReserved(order_id="o1")),
        reply_to(saga(uow, second), StockReserved(order_id="o2")),
        stray,  # answers the same command again
    ]

    services.apply_replies(uow, batch, Scopes())

    assert uow.sagas.locked[-1] == sorted([first, second])
    for saga_id in (first, second):
        assert (saga(uow, saga_id).current_action, saga(uow, saga_id).version) == ("charge_payment", 2)
    assert uow.sagas.kinds(first)[-1] == "reply_ignored"
    assert sent_types(uow) == [ReserveStock, ReserveStock, ChargePayment, ChargePayment]


def test_a_reply_to_no_known_saga_is_unprocessable() -> None:
    uow = FakeCoordinatorUnitOfWork()
    saga_id = started(uow)
    reply = reply_to(saga(uow, saga_id), StockReserved(order_id="o1"))
    unknown = msgspec.structs.replace(reply, saga_id=uuid.uuid4())
    with pytest.raises(Unprocessable, match=f"no saga {unknown.saga_id}"):
        services.apply_replies(uow, [unknown], Scopes())
    anonymous = msgspec.structs.replace(reply, saga_id=None)
    with pytest.raises(Unprocessable, match="StockReserved carries no saga id"):
        services.apply_replies(uow, [anonymous], Scopes())
    assert saga(uow, saga_id).version == 1


def test_an_overdue_step_is_sent_again_with_the_same_message_id() -> None:
    units = coordinator()
    saga_id = started(units.uow)
    assert services.act_on_deadlines(units) == 0
    units.uow.sagas.overdue(saga_id)

    assert services.act_on_deadlines(units) == 1

    first, again = units.uow.commands()
    assert again.message_id == first.message_id and again.payload == first.payload
    retried = saga(units.uow, saga_id)
    assert (retried.attempts, retried.version, retried.overdue_since is not None) == (2, 2, True)
    assert units.uow.sagas.kinds(saga_id)[-2:] == ["timed_out", "command_sent"]
    assert units.committed == 2


def test_a_step_given_up_after_its_budget_rolls_back_in_reverse_order() -> None:
    units = coordinator()
    uow = units.uow
    saga_id = started(uow)
    answer(uow, saga_id, StockReserved(order_id="o1"))
    for _ in range(4):  # attempts 2 to 5, within the budget
        uow.sagas.overdue(saga_id)
        services.act_on_deadlines(units)
    budget = SAGAS["create_order"].patience("charge_payment").budget_s
    assert budget is not None
    uow.sagas.waited(saga_id, budget)
    services.act_on_deadlines(units)
    charges = [envelope.message_id for envelope in uow.commands() if isinstance(envelope.payload, ChargePayment)]
    assert charges == [command_id(saga_id, "charge_payment")] * 5
    assert uow.commands()[-1].payload == RefundPayment(order_id="o1", idempotency_key=f"{saga_id}:refund_payment")
    assert saga(uow, saga_id).failure_reason == f"charge_payment got no reply in {budget:g} s (5 attempts)"
    answer(uow, saga_id, PaymentRefunded(order_id="o1"), StockReleased(order_id="o1"))
    answer(uow, saga_id, OrderRejected(order_id="o1"))
    assert sent_types(uow)[-3:] == [RefundPayment, ReleaseStock, RejectOrder]
    assert saga(uow, saga_id).state is SagaState.COMPENSATED


def test_a_command_failed_reply_in_a_compensation_fails_the_saga_and_a_replay_resumes_it() -> None:
    units = coordinator()
    uow = units.uow
    saga_id = started(uow)
    answer(uow, saga_id, StockReserved(order_id="o1"))
    answer(uow, saga_id, CommandFailed(order_id="o1", command="ChargePayment", reason="poison"))
    assert sent_types(uow)[-1] is RefundPayment
    answer(uow, saga_id, CommandFailed(order_id="o1", command="RefundPayment", reason="still poison"))
    failed = saga(uow, saga_id)
    assert (failed.state, failed.current_action) == (SagaState.FAILED, "refund_payment")
    assert failed.failure_reason == "charge_payment failed: poison; then refund_payment failed: still poison"
    assert uow.sagas.kinds(saga_id)[-2:] == ["reply_received", "state_changed"]

    done = services.replay(units, saga_id, dry_run=False, actor="cli:ops")

    refund = command_id(saga_id, "refund_payment")
    assert done == services.Replay("COMPENSATING", "refund_payment", "RefundPayment", refund, 2)
    assert uow.commands()[-1].message_id == refund
    answer(uow, saga_id, PaymentRefunded(order_id="o1"), StockReleased(order_id="o1"), OrderRejected(order_id="o1"))
    assert saga(uow, saga_id).state is SagaState.COMPENSATED
    assert sent_types(uow)[-3:] == [RefundPayment, ReleaseStock, RejectOrder]


def test_replay_sends_the_pending_command_again_with_its_message_id() -> None:
    units = coordinator()
    saga_id = started(units.uow)

    done = services.replay(units, saga_id, dry_run=False, actor="cli:ops")

    first, again = units.uow.commands()
    assert again.message_id == first.message_id == done.message_id
    assert done == services.Replay("RUNNING", "reserve_stock", "ReserveStock", first.message_id, 2)
    assert units.uow.sagas.locked == [[saga_id]]
    assert saga(units.uow, saga_id).version == 2
    assert units.uow.sagas.history[-1].detail == "replayed by operator"
    assert [entry.actor for entry in units.uow.sagas.history] == [None, None, "cli:ops"]
    assert units.committed == 1


def test_a_dry_run_replay_says_what_it_would_send_and_changes_nothing() -> None:
    units = coordinator()
    saga_id = started(units.uow)
    before = copy.deepcopy(units.uow.sagas.rows)
    history = len(units.uow.sagas.history)

    done = services.replay(units, saga_id, dry_run=True, actor="cli:ops")

    assert (done.command, done.attempt, done.message_id) == ("ReserveStock", 2, command_id(saga_id, "reserve_stock"))
    assert units.uow.sagas.rows == before
    assert len(units.uow.sagas.history) == history
    assert sent_types(units.uow) == [ReserveStock]
    assert units.committed == 0


def test_a_finished_saga_is_not_replayable() -> None:
    units = coordinator()
    saga_id = started(units.uow)
    answer(units.uow, saga_id, StockReserved(order_id="o1"))
    answer(units.uow, saga_id, PaymentSucceeded(order_id="o1", payment_intent_id="pi_1", amount_cents=8998))
    answer(units.uow, saga_id, OrderApproved(order_id="o1"))
    for dry_run in (False, True):
        with pytest.raises(services.NotReplayable, match="is COMPLETED: nothing to replay"):
            services.replay(units, saga_id, dry_run=dry_run, actor="cli:ops")
    assert len(units.uow.sent) == 3
    assert (units.committed, units.rolled_back) == (0, 1)


def test_an_unknown_saga_cannot_be_replayed() -> None:
    units = coordinator()
    unknown = uuid.uuid4()
    for dry_run in (False, True):
        with pytest.raises(LookupError, match=f"no saga {unknown}"):
            services.replay(units, unknown, dry_run=dry_run, actor="cli:ops")
    assert units.uow.sent == []
