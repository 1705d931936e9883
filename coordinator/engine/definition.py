"""How a saga is declared: a table of steps, each with the command that does it and the one that undoes it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from contracts.base import Message
from contracts.topics import Topic

D = TypeVar("D")


@dataclass(frozen=True)
class StepContext(Generic[D]):
    """What a command builder may use: the saga's id and data, and why it is rolling back (if it is)."""

    saga_id: uuid.UUID
    action: str
    data: D
    failure_reason: str | None

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of this action of this saga, never for another."""
        return f"{self.saga_id}:{self.action}"


@dataclass(frozen=True)
class Action(Generic[D]):
    """A command sent to a participant and the replies that settle it.

    ``done`` confirms the action; a reply in ``failed`` means the participant refused it and the saga
    must roll back. ``record`` copies what the saga needs later from the ``done`` reply into its data.
    """

    name: str
    to: Topic
    build: Callable[[StepContext[D]], Message]
    done: type[Message]
    failed: tuple[type[Message], ...] = ()
    record: Callable[[D, Any], D] | None = None


@dataclass(frozen=True)
class Step(Generic[D]):
    """One row of the saga table: what to do, and how to undo it if a later step fails.

    ``pivot`` marks the step after which the saga can no longer roll back: the steps after it are
    retried until they succeed.
    """

    name: str
    send: Action[D]
    undo: Action[D] | None = None
    pivot: bool = False


@dataclass(frozen=True)
class Patience:
    """How one action waits for its reply: re-send after ``reply_timeout_s``, doubling up to ``backoff_max_s``,
    for at most ``budget_s`` from the first send (``None``: keep re-sending until the participant answers)."""

    reply_timeout_s: float = 10.0
    backoff_max_s: float = 60.0
    budget_s: float | None = None

    def deadline(self, started: datetime, now: datetime, attempt: int) -> datetime:
        """When to give up waiting for ``attempt``'s reply: its backoff, but never past the budget."""
        backoff = min(self.reply_timeout_s * 2 ** min(attempt - 1, 32), self.backoff_max_s)
        deadline = now + timedelta(seconds=backoff)
        if self.budget_s is None:
            return deadline
        return min(deadline, started + timedelta(seconds=self.budget_s))

    def gives_up_at(self, started: datetime) -> datetime | None:
        """When the action stops being re-sent (None: never)."""
        return None if self.budget_s is None else started + timedelta(seconds=self.budget_s)


@dataclass(frozen=True)
class RetryPolicy:
    """Each action's patience, by action name (``default`` for the others).

    Configured beside a saga (see ``coordinator.sagas``), not inside its definition.
    """

    default: Patience = Patience()
    actions: Mapping[str, Patience] = field(default_factory=dict)

    def patience(self, action: str) -> Patience:
        """How ``action`` waits for its reply."""
        return self.actions.get(action, self.default)


@dataclass(frozen=True)
class SagaDefinition(Generic[D]):
    """A saga: steps run top to bottom; on failure, the undo column runs bottom to top, then ``on_rollback``."""

    name: str
    data_type: type[D]
    steps: tuple[Step[D], ...]
    on_rollback: Action[D] | None = None

    def compensations(self, undo_from: int) -> list[Action[D]]:
        """The actions that roll back steps ``[0, undo_from)``, last step first, then ``on_rollback``."""
        plan = [step.undo for step in reversed(self.steps[:undo_from]) if step.undo is not None]
        return plan + ([self.on_rollback] if self.on_rollback is not None else [])

    def actions(self) -> list[Action[D]]:
        """Every action the saga can send, forward steps first (names are unique: they make command ids)."""
        forward = [step.send for step in self.steps]
        return forward + [a for a in self.compensations(len(self.steps)) if a not in forward]

    def pivot_index(self) -> int:
        """Index of the pivot step (the last one, when none is marked)."""
        return next((i for i, step in enumerate(self.steps) if step.pivot), len(self.steps) - 1)
