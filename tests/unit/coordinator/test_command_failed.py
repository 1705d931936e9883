"""``CommandFailed`` (a participant dead-lettered a command) and FAILED sagas, driven by the engine alone.

Up to the pivot the saga rolls back at once, undoing the failed step too; after the pivot and in a
compensation it ends FAILED, still naming what it waits on, so its late confirmation or a replay resumes it.
"""

from __future__ import annotations

from datetime import timedelta

from contracts.catalog import ReleaseStock, StockReleased, StockReserved
from contracts.failures import CommandFailed
from contracts.orders import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from contracts.payment import PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from coordinator.engine import engine
from coordinator.engine.engine import Transition, command_id
from coordinator.engine.instance import SagaInstance, SagaState
from coordinator.sagas.create_order import CREATE_ORDER
from tests.unit.coordinator.driving import NOW, ORDER, POLICY, sent, start, state, step


def failed(command: str) -> CommandFailed:
    return CommandFailed(order_id=ORDER, command=command, reason="dead-lettered: boom")


def charged() -> tuple[SagaInstance, Transition]:
    """A saga whose payment succeeded: it waits on ``approve_order``."""
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    return saga, step(saga, t, PaymentSucceeded(order_id=ORDER, payment_intent_id="pi_1", amount_cents=8998))


def refunding() -> tuple[SagaInstance, Transition]:
    """A saga rolling back after its charge was given up: it waits on ``refund_payment``."""
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    t = step(saga, t, failed("ChargePayment"))
    assert sent(t) == [RefundPayment]
    return saga, t


def test_a_step_before_the_pivot_that_failed_rolls_back_with_the_reason() -> None:
    saga, t = start()
    t = step(saga, t, failed("ReserveStock"))
    assert state(saga) is SagaState.COMPENSATING
    assert saga.failure_reason == "reserve_stock failed: dead-lettered: boom"
    assert sent(t) == [ReleaseStock]  # undone too: it may have partly happened (a no-op when it did not)
    assert [h.kind for h in t.history][:2] == ["reply_received", "state_changed"]
    assert t.history[0].detail == "reserve_stock failed: dead-lettered: boom"
    t = step(saga, t, StockReleased(order_id=ORDER))
    assert sent(t) == [RejectOrder]
    assert t.commands[0].envelope.payload.reason == "reserve_stock failed: dead-lettered: boom"
    step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED


def test_a_failed_charge_is_refunded_released_and_rejected_at_once() -> None:
    saga, t = refunding()
    assert state(saga) is SagaState.COMPENSATING and saga.undo_from == 2
    assert saga.failure_reason == "charge_payment failed: dead-lettered: boom"
    t = step(saga, t, PaymentRefunded(order_id=ORDER))
    assert sent(t) == [ReleaseStock]
    t = step(saga, t, StockReleased(order_id=ORDER))
    assert sent(t) == [RejectOrder]
    step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED


def test_a_step_after_the_pivot_that_failed_ends_failed_and_a_replay_finishes_it() -> None:
    saga, t = charged()
    approve = t.commands[0].envelope.message_id
    failure = step(saga, t, failed("ApproveOrder"))
    assert sent(failure) == [] and state(saga) is SagaState.FAILED
    assert saga.failure_reason == "approve_order failed: dead-lettered: boom"
    assert (saga.current_action, saga.awaiting_message_id, saga.deadline_at) == ("approve_order", approve, None)
    assert failure.history[-1].detail == "FAILED"
    replay = engine.resend(CREATE_ORDER, POLICY, saga, NOW)
    assert sent(replay) == [ApproveOrder] and replay.commands[0].envelope.message_id == approve
    assert state(saga) is SagaState.RUNNING and replay.history[0].detail == "resumed by operator"
    step(saga, replay, OrderApproved(order_id=ORDER))
    assert state(saga) is SagaState.COMPLETED


def test_a_compensation_that_failed_ends_failed_and_its_late_confirmation_resumes_it() -> None:
    saga, t = refunding()
    refund = t
    failure = step(saga, t, failed("RefundPayment"))
    assert sent(failure) == [] and state(saga) is SagaState.FAILED
    assert saga.failure_reason == (
        "charge_payment failed: dead-lettered: boom; then refund_payment failed: dead-lettered: boom"
    )
    late = step(saga, refund, PaymentRefunded(order_id=ORDER))
    assert [(h.kind, h.detail) for h in late.history] == [
        ("state_changed", "compensation resumed by refund_payment's late confirmation"),
        ("reply_received", None),
        ("command_sent", None),
    ]
    assert state(saga) is SagaState.COMPENSATING and sent(late) == [ReleaseStock]
    t = step(saga, late, StockReleased(order_id=ORDER))
    step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED


def test_a_failed_saga_takes_nothing_but_the_awaited_confirmation() -> None:
    saga, first = start()
    t = step(saga, first, StockReserved(order_id=ORDER))
    t = step(saga, t, failed("ChargePayment"))
    step(saga, t, failed("RefundPayment"))
    before = (saga.state, saga.current_action, saga.awaiting_message_id, saga.failure_reason)
    for last, payload in (
        (t, failed("RefundPayment")),
        (t, PaymentDeclined(order_id=ORDER, reason="declined")),
        (first, StockReserved(order_id=ORDER)),  # stale: answers an earlier command
    ):
        again = step(saga, last, payload)
        assert sent(again) == [] and [h.kind for h in again.history] == ["reply_ignored"]
    assert (saga.state, saga.current_action, saga.awaiting_message_id, saga.failure_reason) == before
    assert engine.on_deadline(CREATE_ORDER, POLICY, saga, NOW + timedelta(days=1)).commands == []


def test_a_failure_reply_to_a_command_no_longer_awaited_is_ignored() -> None:
    saga, t = start()
    first = t
    t = step(saga, t, StockReserved(order_id=ORDER))
    ignored = step(saga, first, failed("ReserveStock"))
    assert sent(ignored) == [] and saga.current_action == "charge_payment" and state(saga) is SagaState.RUNNING


def test_a_saga_failed_by_an_older_coordinator_takes_its_late_confirmation_or_a_replay() -> None:
    """Rows FAILED before this version await nothing (no awaited id, no current action); the action is known."""
    for late in (True, False):
        saga, t = refunding()
        step(saga, t, failed("RefundPayment"))
        saga.current_action, saga.awaiting_message_id = None, None  # as the older version left FAILED sagas
        if not late:
            t = engine.resend(CREATE_ORDER, POLICY, saga, NOW)
            assert sent(t) == [RefundPayment]
            assert t.commands[0].envelope.message_id == command_id(saga.saga_id, "refund_payment")
        assert sent(step(saga, t, PaymentRefunded(order_id=ORDER))) == [ReleaseStock]
        assert state(saga) is SagaState.COMPENSATING
