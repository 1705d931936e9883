"""The CreateOrder saga, driven by the engine with no broker: given a state and a reply, what comes next."""

from __future__ import annotations

from datetime import timedelta

from contracts.catalog import ReleaseStock, ReserveStock, StockReleased, StockReserved, StockUnavailable
from contracts.orders import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from coordinator.engine import engine
from coordinator.engine.definition import Patience, RetryPolicy
from coordinator.engine.engine import Transition
from coordinator.engine.instance import SagaInstance, SagaState
from coordinator.sagas.create_order import CREATE_ORDER
from tests.unit.coordinator.driving import NOW, ORDER, POLICY, reply_to_last, sent, start, state, step


def test_start_reserves_stock_first() -> None:
    saga, t = start()
    assert sent(t) == [ReserveStock]
    assert t.commands[0].topic.name == "catalog.commands"
    assert t.commands[0].key == str(saga.saga_id)
    assert state(saga) is SagaState.RUNNING and saga.current_action == "reserve_stock"


def test_happy_path_reserve_charge_approve_completes() -> None:
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    assert sent(t) == [ChargePayment]
    charge = t.commands[0].envelope.payload
    assert charge.amount_cents == 8998 and charge.idempotency_key == f"{saga.saga_id}:charge_payment"
    t = step(saga, t, PaymentSucceeded(order_id=ORDER, payment_intent_id="pi_1", amount_cents=8998))
    assert sent(t) == [ApproveOrder]
    assert saga.data.payment_intent_id == "pi_1"
    t = step(saga, t, OrderApproved(order_id=ORDER))
    assert sent(t) == []
    assert state(saga) is SagaState.COMPLETED and saga.current_action is None and saga.deadline_at is None


def test_out_of_stock_rejects_the_order_without_other_compensation() -> None:
    saga, t = start()
    t = step(saga, t, StockUnavailable(order_id=ORDER, sku="SNES-SMW", reason="out of stock: SNES-SMW"))
    assert sent(t) == [RejectOrder]
    assert t.commands[0].envelope.payload.reason == "out of stock: SNES-SMW"
    assert state(saga) is SagaState.COMPENSATING
    t = step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED and sent(t) == []


def test_declined_payment_releases_stock_then_rejects() -> None:
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    t = step(saga, t, PaymentDeclined(order_id=ORDER, reason="payment declined: card_declined"))
    assert sent(t) == [ReleaseStock]
    t = step(saga, t, StockReleased(order_id=ORDER))
    assert sent(t) == [RejectOrder]
    assert t.commands[0].envelope.payload.reason == "payment declined: card_declined"
    t = step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED
    assert saga.failure_reason == "payment declined: card_declined"


def test_a_stale_or_duplicate_reply_changes_nothing() -> None:
    saga, t = start()
    first = t
    t = step(saga, t, StockReserved(order_id=ORDER))
    before = (saga.state, saga.current_action, saga.step_index)
    again = engine.on_reply(CREATE_ORDER, POLICY, saga, reply_to_last(saga, first, StockReserved(order_id=ORDER)), NOW)
    assert again.commands == [] and [h.kind for h in again.history] == ["reply_ignored"]
    assert (saga.state, saga.current_action, saga.step_index) == before


def test_an_unexpected_reply_type_is_ignored() -> None:
    saga, t = start()
    ignored = step(saga, t, PaymentRefunded(order_id=ORDER))
    assert ignored.commands == [] and saga.current_action == "reserve_stock"


def test_a_failure_reply_during_compensation_does_not_restart_it() -> None:
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    t = step(saga, t, PaymentDeclined(order_id=ORDER, reason="declined"))
    ignored = step(saga, t, StockUnavailable(order_id=ORDER, sku="SNES-SMW", reason="x"))
    assert ignored.commands == [] and saga.current_action == "release_stock"


def test_overdue_reply_resends_the_same_command_with_backoff() -> None:
    saga, t = start()
    first_id = t.commands[0].envelope.message_id
    timeout_s = POLICY.patience("reserve_stock").reply_timeout_s
    assert saga.deadline_at == NOW + timedelta(seconds=timeout_s)
    later = NOW + timedelta(seconds=timeout_s + 1)
    retry = engine.on_deadline(CREATE_ORDER, POLICY, saga, later)
    assert sent(retry) == [ReserveStock]
    assert retry.commands[0].envelope.message_id == first_id
    assert saga.attempts == 2
    assert saga.deadline_at == later + timedelta(seconds=2 * timeout_s)


def test_nothing_happens_before_the_deadline() -> None:
    saga, _ = start()
    assert engine.on_deadline(CREATE_ORDER, POLICY, saga, NOW).commands == []


def _exhaust(saga: SagaInstance, policy: RetryPolicy = POLICY, limit: int = 1000) -> Transition:
    """Let every deadline of the current action pass until the saga gives up on it (or ``limit`` deadlines)."""
    action, t = saga.current_action, Transition()
    for _ in range(limit):
        assert saga.deadline_at is not None
        t = engine.on_deadline(CREATE_ORDER, policy, saga, saga.deadline_at)
        if saga.current_action != action or state(saga) is SagaState.FAILED:
            return t
    return t


def test_charge_without_reply_rolls_back_including_a_refund_once_its_budget_is_spent() -> None:
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    started = saga.step_started_at
    assert started is not None
    t = _exhaust(saga)
    budget_s = POLICY.patience("charge_payment").budget_s
    assert budget_s is not None
    assert t.history[0].kind == "timed_out" and t.history[0].at == started + timedelta(seconds=budget_s)
    # The charge may have gone through: refund (a no-op if not), release, then reject.
    assert sent(t) == [RefundPayment]
    assert state(saga) is SagaState.COMPENSATING
    t = step(saga, t, PaymentRefunded(order_id=ORDER))
    assert sent(t) == [ReleaseStock]
    t = step(saga, t, StockReleased(order_id=ORDER))
    assert sent(t) == [RejectOrder]
    assert f"charge_payment got no reply in {budget_s:g} s" in t.commands[0].envelope.payload.reason


def test_approve_without_reply_is_re_sent_until_answered_never_rolled_back() -> None:
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    t = step(saga, t, PaymentSucceeded(order_id=ORDER, payment_intent_id="pi_1", amount_cents=8998))
    approve = t.commands[0].envelope.message_id
    day_later = NOW + timedelta(days=1)
    while saga.deadline_at is not None and saga.deadline_at <= day_later:
        t = engine.on_deadline(CREATE_ORDER, POLICY, saga, saga.deadline_at)
        assert sent(t) == [ApproveOrder] and t.commands[0].envelope.message_id == approve
    patience = POLICY.patience("approve_order")
    assert state(saga) is SagaState.RUNNING and saga.attempts > 1000 and saga.stuck_reason is None
    assert saga.deadline_at is not None and saga.deadline_at - t.history[0].at == timedelta(
        seconds=patience.backoff_max_s
    )
    t = step(saga, t, OrderApproved(order_id=ORDER))
    assert state(saga) is SagaState.COMPLETED


def test_a_compensation_without_reply_is_re_sent_until_answered() -> None:
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    t = step(saga, t, PaymentDeclined(order_id=ORDER, reason="declined"))
    t = _exhaust(saga, limit=500)
    assert sent(t) == [ReleaseStock] and saga.attempts == 501
    assert state(saga) is SagaState.COMPENSATING and saga.current_action == "release_stock"


def test_a_compensation_with_a_budget_ends_failed_when_it_is_spent_and_a_replay_resumes_it() -> None:
    hurried = RetryPolicy(default=Patience(reply_timeout_s=1, backoff_max_s=2, budget_s=10))
    saga, t = start(hurried)
    t = step(saga, t, StockUnavailable(order_id=ORDER, sku="SNES-SMW", reason="out"), policy=hurried)
    t = _exhaust(saga, hurried)  # sent at 0, 1, 3, 5, 7 and 9 s; given up at 10 s
    assert state(saga) is SagaState.FAILED and sent(t) == []
    assert saga.failure_reason == "out; then reject_order got no reply in 10 s (6 attempts)"
    assert (saga.current_action, saga.deadline_at) == ("reject_order", None)
    later = NOW + timedelta(hours=1)
    replay = engine.resend(CREATE_ORDER, hurried, saga, later)
    assert sent(replay) == [RejectOrder] and state(saga) is SagaState.COMPENSATING
    assert saga.step_started_at == later and saga.deadline_at == later + timedelta(seconds=2)  # a fresh budget


def test_terminal_sagas_ignore_replies_and_replays() -> None:
    saga, t = start()
    t = step(saga, t, StockUnavailable(order_id=ORDER, sku="SNES-SMW", reason="out"))
    last = t
    step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED
    assert step(saga, last, OrderRejected(order_id=ORDER)).commands == []
    assert engine.resend(CREATE_ORDER, POLICY, saga, NOW).commands == []


def test_the_definition_reads_as_a_table() -> None:
    rows = [(s.name, s.send.to.name, s.undo.name if s.undo else None, s.pivot) for s in CREATE_ORDER.steps]
    assert rows == [
        ("reserve_stock", "catalog.commands", "release_stock", False),
        ("charge_payment", "payment.commands", "refund_payment", True),
        ("approve_order", "orders.commands", None, False),
    ]
    assert [a.name for a in CREATE_ORDER.compensations(2)] == ["refund_payment", "release_stock", "reject_order"]
    assert [a.name for a in CREATE_ORDER.actions()] == [
        "reserve_stock",
        "charge_payment",
        "approve_order",
        "refund_payment",
        "release_stock",
        "reject_order",
    ]
