"""Each action's patience: how its deadlines back off, when it gives up, and how the environment sets it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.catalog import ReleaseStock, StockReserved
from contracts.payment import ChargePayment, RefundPayment
from coordinator.engine import engine
from coordinator.engine.definition import Patience
from coordinator.engine.instance import SagaState
from coordinator.sagas.create_order import CREATE_ORDER
from coordinator.sagas.patience import PatienceSettings, create_order_policy
from tests.unit.coordinator.driving import NOW, ORDER, POLICY, sent, start, state, step

SECOND = timedelta(seconds=1)


def test_deadlines_double_up_to_the_cap_and_never_pass_the_budget() -> None:
    patience = Patience(reply_timeout_s=10, backoff_max_s=60, budget_s=100)
    waits = [(patience.deadline(NOW, NOW, attempt) - NOW) / SECOND for attempt in range(1, 6)]
    assert waits == [10, 20, 40, 60, 60]
    later = NOW + 80 * SECOND
    assert patience.deadline(NOW, later, 5) == NOW + 100 * SECOND  # 20 s of budget left, not 60
    assert patience.gives_up_at(NOW) == NOW + 100 * SECOND


def test_without_a_budget_the_wait_stays_capped_however_many_attempts() -> None:
    patience = Patience(reply_timeout_s=10, backoff_max_s=60, budget_s=None)
    assert patience.deadline(NOW, NOW, 100_000) == NOW + 60 * SECOND
    assert patience.gives_up_at(NOW) is None


def test_create_order_waits_for_stock_and_the_charge_for_their_budgets_and_for_the_rest_forever() -> None:
    policy = create_order_policy(PatienceSettings(1, 3, reserve_budget_s=50, charge_budget_s=120))
    assert policy.patience("reserve_stock") == Patience(1, 3, 50)
    assert policy.patience("charge_payment") == Patience(1, 3, 120)
    for action in ("approve_order", "refund_payment", "release_stock", "reject_order"):
        assert policy.patience(action) == Patience(1, 3, None)


def test_the_default_charge_budget_is_thirty_minutes() -> None:
    defaults = PatienceSettings()
    assert (defaults.charge_budget_s, defaults.reserve_budget_s) == (1800, 1800)
    assert POLICY.patience("charge_payment").budget_s == 1800


def test_the_environment_sets_every_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("REPLY_TIMEOUT", "1"),
        ("BACKOFF_MAX", "3"),
        ("RESERVE_BUDGET", "30"),
        ("CHARGE_BUDGET", "120"),
    ):
        monkeypatch.setenv(f"RV_SAGA_{name}_S", value)
    assert PatienceSettings.from_env() == PatienceSettings(1, 3, 30, 120)


def test_a_charge_waits_through_an_outage_within_its_budget() -> None:
    saga, t = start()
    t = step(saga, t, StockReserved(order_id=ORDER))
    charge = t.commands[0].envelope.message_id
    budget = POLICY.patience("charge_payment").gives_up_at(NOW)
    assert budget is not None
    while saga.deadline_at is not None and saga.deadline_at < budget:
        t = engine.on_deadline(CREATE_ORDER, POLICY, saga, saga.deadline_at)
        assert sent(t) == [ChargePayment] and t.commands[0].envelope.message_id == charge
    assert state(saga) is SagaState.RUNNING and saga.current_action == "charge_payment"
    assert saga.attempts > 25 and saga.overdue_since == NOW + 10 * SECOND and saga.step_started_at == NOW
    assert saga.deadline_at == budget  # the last wait ends exactly when the budget does
    t = engine.on_deadline(CREATE_ORDER, POLICY, saga, budget)
    assert sent(t) == [RefundPayment] and state(saga) is SagaState.COMPENSATING


def test_stock_that_never_answers_is_released_and_the_order_rejected_once_its_budget_is_spent() -> None:
    hurried = create_order_policy(PatienceSettings(1, 3, reserve_budget_s=10, charge_budget_s=120))
    saga, t = start(hurried)
    while state(saga) is SagaState.RUNNING:
        assert saga.deadline_at is not None
        t = engine.on_deadline(CREATE_ORDER, hurried, saga, saga.deadline_at)
    assert sent(t) == [ReleaseStock]
    assert saga.failure_reason == "reserve_stock got no reply in 10 s (5 attempts)"  # sent at 0, 1, 3, 6 and 9 s
