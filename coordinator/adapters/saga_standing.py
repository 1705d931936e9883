"""Whether a saga waits for a reply, on whom and until when, and whether it is stuck: for one row, and in SQL.

A saga **waits** once its step's command was re-sent with no reply yet. It is **stuck** when nothing but its
participant coming back will end that wait: its action has no budget (a step after the pivot, a
compensation), or it was given up by an earlier version of the coordinator (``stuck_reason``). A saga
that waits within its budget is not stuck: it will get its reply, or roll back when the budget is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from coordinator.adapters.tables import sagas
from coordinator.sagas import SAGAS

TERMINAL = ("COMPLETED", "COMPENSATED", "FAILED")


@dataclass(frozen=True)
class Standing:
    """Whether a saga row waits, on whom, until when, and whether it is stuck."""

    waiting: bool
    stuck: bool
    participant: str | None
    gives_up_at: datetime | None

    @classmethod
    def of(cls, m: Any) -> Standing:
        """The standing of the saga row ``m`` (a mapping of the ``sagas`` columns)."""
        registered = SAGAS.get(m["saga_type"])
        action = m["current_action"]
        running = m["state"] not in TERMINAL and action is not None
        patience = registered.patience(action) if registered and running else None
        started = m["step_started_at"] or m["overdue_since"]
        gives_up_at = patience.gives_up_at(started) if patience and started else None
        waiting = running and m["overdue_since"] is not None
        stuck = waiting and (m["stuck_reason"] is not None or gives_up_at is None)
        participant = registered.participant(action) if registered and waiting else None
        return cls(waiting, stuck, participant, gives_up_at)


def waiting() -> sa.ColumnElement[bool]:
    """In SQL: the step was re-sent and has no reply yet (as ``SagaView.waiting``)."""
    return sa.and_(sagas.c.state.not_in(TERMINAL), sagas.c.overdue_since.is_not(None))


def stuck() -> sa.ColumnElement[bool]:
    """In SQL: waiting on an action that has no budget, or given up (as ``SagaView.stuck``)."""
    s = sagas.c
    budgeted = [
        sa.and_(s.saga_type == name, s.current_action.in_(actions))
        for name, registered in SAGAS.items()
        if (actions := registered.with_budget())
    ]
    within_budget = sa.or_(*budgeted) if budgeted else sa.false()
    return sa.and_(waiting(), sa.or_(s.stuck_reason.is_not(None), sa.not_(within_budget)))
