"""The CreateOrder saga, driven by the engine with no broker: given a state and a reply, what comes next."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.base import Message, PricedLine
from contracts.catalog import ReleaseStock, ReserveStock, StockReleased, StockReserved, StockUnavailable
from contracts.envelope import Envelope, wrap
from contracts.orders import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from coordinator.engine import engine
from coordinator.engine.engine import Transition
from coordinator.engine.instance import SagaInstance, SagaState
from coordinator.sagas import SAGAS
from coordinator.sagas.create_order import CREATE_ORDER, OrderSagaData

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
POLICY = SAGAS[CREATE_ORDER.name].retry
ORDER = "order-1"


def _data() -> OrderSagaData:
    return OrderSagaData(
        order_id=ORDER,
        customer_id="c-1",
        lines=[PricedLine(sku="SNES-SMW", quantity=2, unit_price_cents=4499)],
        total_cents=8998,
        currency="usd",
        payment_method="pm_card_visa",
    )


def _start() -> tuple[SagaInstance, Transition]:
    return engine.start(CREATE_ORDER, POLICY, uuid.uuid4(), ORDER, _data(), NOW)


def _reply_to(saga: SagaInstance, last: Transition, payload: Message) -> Envelope[Any]:
    command = last.commands[-1].envelope
    return wrap(payload, correlation_id=ORDER, saga_id=saga.saga_id, causation_id=command.message_id)


def _step(saga: SagaInstance, last: Transition, payload: Message) -> Transition:
    return engine.on_reply(CREATE_ORDER, POLICY, saga, _reply_to(saga, last, payload), NOW)


def state(saga: SagaInstance) -> SagaState:
    """The saga's state, read afresh (keeps mypy from narrowing it across engine calls)."""
    return saga.state


def _sent(transition: Transition) -> list[type[Message]]:
    return [type(c.envelope.payload) for c in transition.commands]


def test_start_reserves_stock_first() -> None:
    saga, t = _start()
    assert _sent(t) == [ReserveStock]
    assert t.commands[0].topic.name == "catalog.commands"
    assert t.commands[0].key == str(saga.saga_id)
    assert state(saga) is SagaState.RUNNING and saga.current_action == "reserve_stock"


def test_happy_path_reserve_charge_approve_completes() -> None:
    saga, t = _start()
    t = _step(saga, t, StockReserved(order_id=ORDER))
    assert _sent(t) == [ChargePayment]
    charge = t.commands[0].envelope.payload
    assert charge.amount_cents == 8998 and charge.idempotency_key == f"{saga.saga_id}:charge_payment"
    t = _step(saga, t, PaymentSucceeded(order_id=ORDER, payment_intent_id="pi_1", amount_cents=8998))
    assert _sent(t) == [ApproveOrder]
    assert saga.data.payment_intent_id == "pi_1"
    t = _step(saga, t, OrderApproved(order_id=ORDER))
    assert _sent(t) == []
    assert state(saga) is SagaState.COMPLETED and saga.current_action is None and saga.deadline_at is None


def test_out_of_stock_rejects_the_order_without_other_compensation() -> None:
    saga, t = _start()
    t = _step(saga, t, StockUnavailable(order_id=ORDER, sku="SNES-SMW", reason="out of stock: SNES-SMW"))
    assert _sent(t) == [RejectOrder]
    assert t.commands[0].envelope.payload.reason == "out of stock: SNES-SMW"
    assert state(saga) is SagaState.COMPENSATING
    t = _step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED and _sent(t) == []


def test_declined_payment_releases_stock_then_rejects() -> None:
    saga, t = _start()
    t = _step(saga, t, StockReserved(order_id=ORDER))
    t = _step(saga, t, PaymentDeclined(order_id=ORDER, reason="payment declined: card_declined"))
    assert _sent(t) == [ReleaseStock]
    t = _step(saga, t, StockReleased(order_id=ORDER))
    assert _sent(t) == [RejectOrder]
    assert t.commands[0].envelope.payload.reason == "payment declined: card_declined"
    t = _step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED
    assert saga.failure_reason == "payment declined: card_declined"


def test_a_stale_or_duplicate_reply_changes_nothing() -> None:
    saga, t = _start()
    first = t
    t = _step(saga, t, StockReserved(order_id=ORDER))
    before = (saga.state, saga.current_action, saga.step_index)
    again = engine.on_reply(CREATE_ORDER, POLICY, saga, _reply_to(saga, first, StockReserved(order_id=ORDER)), NOW)
    assert again.commands == [] and [h.kind for h in again.history] == ["reply_ignored"]
    assert (saga.state, saga.current_action, saga.step_index) == before


def test_an_unexpected_reply_type_is_ignored() -> None:
    saga, t = _start()
    ignored = _step(saga, t, PaymentRefunded(order_id=ORDER))
    assert ignored.commands == [] and saga.current_action == "reserve_stock"


def test_a_failure_reply_during_compensation_does_not_restart_it() -> None:
    saga, t = _start()
    t = _step(saga, t, StockReserved(order_id=ORDER))
    t = _step(saga, t, PaymentDeclined(order_id=ORDER, reason="declined"))
    ignored = _step(saga, t, StockUnavailable(order_id=ORDER, sku="SNES-SMW", reason="x"))
    assert ignored.commands == [] and saga.current_action == "release_stock"


def test_overdue_reply_resends_the_same_command_with_backoff() -> None:
    saga, t = _start()
    first_id = t.commands[0].envelope.message_id
    assert saga.deadline_at == NOW + timedelta(seconds=POLICY.reply_timeout_s)
    later = NOW + timedelta(seconds=POLICY.reply_timeout_s + 1)
    retry = engine.on_deadline(CREATE_ORDER, POLICY, saga, later)
    assert _sent(retry) == [ReserveStock]
    assert retry.commands[0].envelope.message_id == first_id
    assert saga.attempts == 2
    assert saga.deadline_at == later + timedelta(seconds=2 * POLICY.reply_timeout_s)


def test_nothing_happens_before_the_deadline() -> None:
    saga, _ = _start()
    assert engine.on_deadline(CREATE_ORDER, POLICY, saga, NOW).commands == []


def _exhaust(saga: SagaInstance) -> Transition:
    t = Transition()
    for _ in range(POLICY.max_attempts):
        assert saga.deadline_at is not None
        t = engine.on_deadline(CREATE_ORDER, POLICY, saga, saga.deadline_at)
    return t


def test_charge_without_reply_rolls_back_including_a_refund() -> None:
    saga, t = _start()
    t = _step(saga, t, StockReserved(order_id=ORDER))
    t = _exhaust(saga)
    # The charge may have gone through: refund (a no-op if not), release, then reject.
    assert _sent(t) == [RefundPayment]
    assert state(saga) is SagaState.COMPENSATING
    t = _step(saga, t, PaymentRefunded(order_id=ORDER))
    assert _sent(t) == [ReleaseStock]
    t = _step(saga, t, StockReleased(order_id=ORDER))
    assert _sent(t) == [RejectOrder]
    assert "charge_payment got no reply" in t.commands[0].envelope.payload.reason


def test_approve_without_reply_is_stuck_not_rolled_back() -> None:
    saga, t = _start()
    t = _step(saga, t, StockReserved(order_id=ORDER))
    t = _step(saga, t, PaymentSucceeded(order_id=ORDER, payment_intent_id="pi_1", amount_cents=8998))
    t = _exhaust(saga)
    assert _sent(t) == [] and state(saga) is SagaState.RUNNING
    assert saga.stuck_reason is not None and "approve_order" in saga.stuck_reason
    replay = engine.resend(CREATE_ORDER, POLICY, saga, NOW)
    assert _sent(replay) == [ApproveOrder] and saga.stuck_reason is None


def test_compensation_without_reply_ends_failed() -> None:
    saga, t = _start()
    t = _step(saga, t, StockReserved(order_id=ORDER))
    t = _step(saga, t, PaymentDeclined(order_id=ORDER, reason="declined"))
    t = _exhaust(saga)
    assert state(saga) is SagaState.FAILED
    assert saga.failure_reason is not None and "release_stock got no reply" in saga.failure_reason


def test_terminal_sagas_ignore_replies_and_replays() -> None:
    saga, t = _start()
    t = _step(saga, t, StockUnavailable(order_id=ORDER, sku="SNES-SMW", reason="out"))
    last = t
    _step(saga, t, OrderRejected(order_id=ORDER))
    assert state(saga) is SagaState.COMPENSATED
    assert _step(saga, last, OrderRejected(order_id=ORDER)).commands == []
    assert engine.resend(CREATE_ORDER, POLICY, saga, NOW).commands == []


def test_the_definition_reads_as_a_table() -> None:
    rows = [(s.name, s.send.to.name, s.undo.name if s.undo else None, s.pivot) for s in CREATE_ORDER.steps]
    assert rows == [
        ("reserve_stock", "catalog.commands", "release_stock", False),
        ("charge_payment", "payment.commands", "refund_payment", True),
        ("approve_order", "orders.commands", None, False),
    ]
    assert [a.name for a in CREATE_ORDER.compensations(2)] == ["refund_payment", "release_stock", "reject_order"]
