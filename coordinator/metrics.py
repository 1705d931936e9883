"""The coordinator's metrics, counted from what the engine did: sagas started and finished, and step times."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Histogram

from coordinator.engine.engine import Transition
from coordinator.engine.instance import SagaInstance

SAGA_EVENTS = Counter(
    "rv_sagas_total", "Saga lifecycle events (started, completed, compensated, failed)", ["saga", "event"]
)
STEP_SECONDS = Histogram(
    "rv_saga_step_seconds",
    "Time from a saga command to the reply that settled it",
    ["saga", "action", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

_LIFECYCLE = {"COMPLETED": "completed", "COMPENSATED": "compensated", "FAILED": "failed"}


def count_lifecycle(saga_type: str, transition: Transition) -> None:
    """Count sagas started and finished, from the transition's state changes."""
    for entry in transition.history:
        if entry.kind != "state_changed" or entry.detail is None:
            continue
        event = "started" if entry.detail.startswith("started ") else _LIFECYCLE.get(entry.detail)
        if event is not None:
            SAGA_EVENTS.labels(saga_type, event).inc()


def time_step(
    saga: SagaInstance, action: str | None, started: datetime | None, transition: Transition, now: datetime
) -> None:
    """Observe how long ``action`` (sent at ``started``) took, if the reply applied at ``now`` settled it."""
    settled = [entry for entry in transition.history if entry.kind == "reply_received"]
    if settled and started is not None and action is not None:
        outcome = "done" if settled[0].detail is None else "failed"
        STEP_SECONDS.labels(saga.saga_type, action, outcome).observe((now - started).total_seconds())
