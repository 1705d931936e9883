"""Waiting versus stuck, as the API and the dashboard report it, from a saga row alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from coordinator.adapters.saga_standing import Standing, stuck
from coordinator.sagas import SAGAS

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BUDGET = SAGAS["create_order"].patience("charge_payment").budget_s


def row(state: str, action: str | None, *, overdue: bool, stuck_reason: str | None = None) -> dict[str, Any]:
    return {
        "saga_type": "create_order",
        "state": state,
        "current_action": action,
        "step_started_at": T0,
        "overdue_since": T0 + timedelta(seconds=10) if overdue else None,
        "stuck_reason": stuck_reason,
    }


def test_a_charge_re_sent_within_its_budget_waits_on_payment_and_is_not_stuck() -> None:
    assert BUDGET is not None
    standing = Standing.of(row("RUNNING", "charge_payment", overdue=True))
    assert standing == Standing(True, False, "payment", T0 + timedelta(seconds=BUDGET))


def test_a_step_without_a_budget_that_waits_is_stuck() -> None:
    cases = [("RUNNING", "approve_order", "orders"), ("COMPENSATING", "refund_payment", "payment")]
    for state, action, participant in cases:
        assert Standing.of(row(state, action, overdue=True)) == Standing(True, True, participant, None)


def test_a_saga_on_time_or_finished_neither_waits_nor_is_stuck() -> None:
    on_time = Standing.of(row("RUNNING", "charge_payment", overdue=False))
    assert (on_time.waiting, on_time.stuck, on_time.participant) == (False, False, None)
    assert on_time.gives_up_at is not None  # known before it is late
    for state in ("FAILED", "COMPLETED", "COMPENSATED"):
        assert Standing.of(row(state, "refund_payment", overdue=True)) == Standing(False, False, None, None)


def test_a_saga_given_up_by_an_older_coordinator_is_stuck_whatever_its_budget() -> None:
    given_up = Standing.of(row("RUNNING", "charge_payment", overdue=True, stuck_reason="no reply after 5 attempts"))
    assert (given_up.waiting, given_up.stuck) == (True, True)


def test_in_sql_only_the_actions_with_a_budget_keep_a_waiting_saga_from_being_stuck() -> None:
    sql = str(sa.select(sa.literal(1)).where(stuck()).compile(compile_kwargs={"literal_binds": True}))
    assert "sagas.overdue_since IS NOT NULL" in sql and "sagas.stuck_reason IS NOT NULL" in sql
    assert "sagas.current_action IN ('reserve_stock', 'charge_payment')" in sql
