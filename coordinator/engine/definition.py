"""How a saga is declared: a table of steps, each with the command that does it and the one that undoes it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
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
class RetryPolicy:
    """How long to wait for a reply, and how often to re-send the same command before giving up.

    Configured beside a saga (see ``coordinator.sagas``), not inside its definition.
    """

    reply_timeout_s: float = 10.0
    max_attempts: int = 5
    backoff_max_s: float = 30.0


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

    def pivot_index(self) -> int:
        """Index of the pivot step (the last one, when none is marked)."""
        return next((i for i, step in enumerate(self.steps) if step.pivot), len(self.steps) - 1)
