"""A running saga: its state, where it stands, and what happened to it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class SagaState(StrEnum):
    """RUNNING forward, COMPENSATING backward, then one of the three terminal states."""

    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        """No more commands will be sent."""
        return self in (SagaState.COMPLETED, SagaState.COMPENSATED, SagaState.FAILED)


@dataclass
class SagaInstance:
    """One saga's row: the engine changes it, the store persists it with a version check."""

    saga_id: uuid.UUID
    saga_type: str
    order_id: str
    data: Any
    state: SagaState = SagaState.RUNNING
    step_index: int = 0
    compensation_index: int = 0
    undo_from: int | None = None
    current_action: str | None = None
    awaiting_message_id: uuid.UUID | None = None
    attempts: int = 0
    step_started_at: datetime | None = None
    deadline_at: datetime | None = None
    failure_reason: str | None = None
    overdue_since: datetime | None = None
    stuck_reason: str | None = None
    version: int = 0


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a saga's timeline."""

    saga_id: uuid.UUID
    at: datetime
    kind: str  # command_sent | reply_received | reply_ignored | state_changed | timed_out | dead_letter_*
    action: str | None
    message_type: str | None = None
    message_id: uuid.UUID | None = None
    attempt: int | None = None
    detail: str | None = None
    participant_instance: str | None = None
    """For a reply's own entry: the participant instance that executed the command (it wrote the reply)."""
    actor: str | None = None
    """For an operator's step (a replay, a dead letter replayed or discarded): who asked for it."""
