"""The sagas this coordinator runs, by name, each with its retry policy configured beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coordinator.engine.definition import RetryPolicy, SagaDefinition
from coordinator.sagas.create_order import CREATE_ORDER


@dataclass(frozen=True)
class RegisteredSaga:
    """A saga definition and the policy its engine runs it with."""

    definition: SagaDefinition[Any]
    retry: RetryPolicy


SAGAS: dict[str, RegisteredSaga] = {
    CREATE_ORDER.name: RegisteredSaga(
        CREATE_ORDER, RetryPolicy(reply_timeout_s=10.0, max_attempts=5, backoff_max_s=60.0)
    ),
}
