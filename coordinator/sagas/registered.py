"""A saga as the coordinator runs it: its definition with the retry policy configured beside it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.envelope import Envelope
from coordinator.engine import engine
from coordinator.engine.definition import Patience, RetryPolicy, SagaDefinition
from coordinator.engine.engine import Transition
from coordinator.engine.instance import SagaInstance


@dataclass(frozen=True)
class RegisteredSaga:
    """A saga definition and the policy its engine runs it with; each method is the engine's, for this saga."""

    definition: SagaDefinition[Any]
    retry: RetryPolicy

    def patience(self, action: str) -> Patience:
        """How ``action`` waits for its reply."""
        return self.retry.patience(action)

    def with_budget(self) -> list[str]:
        """The actions the coordinator gives up on after their budget (the others wait until answered)."""
        return [a.name for a in self.definition.actions() if self.retry.patience(a.name).budget_s is not None]

    def participant(self, action: str) -> str | None:
        """Who answers ``action``: the service whose ``<service>.commands`` topic it goes to."""
        to = next((a.to.name for a in self.definition.actions() if a.name == action), None)
        return to.partition(".")[0] if to else None

    def start(self, saga_id: uuid.UUID, order_id: str, data: Any, now: datetime) -> tuple[SagaInstance, Transition]:
        """A new saga with its first command."""
        return engine.start(self.definition, self.retry, saga_id, order_id, data, now)

    def on_reply(self, saga: SagaInstance, reply: Envelope[Any], now: datetime) -> Transition:
        """Advance, roll back or ignore on a participant's reply."""
        return engine.on_reply(self.definition, self.retry, saga, reply, now)

    def on_deadline(self, saga: SagaInstance, now: datetime) -> Transition:
        """Re-send or give up when the awaited reply is late."""
        return engine.on_deadline(self.definition, self.retry, saga, now)

    def resend(self, saga: SagaInstance, now: datetime) -> Transition:
        """Send the awaited command again (an operator's replay)."""
        return engine.resend(self.definition, self.retry, saga, now)
