"""Work on a saga that no message carries (a deadline, a replay), traced as part of its order's trace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from coordinator.engine.instance import SagaInstance
from coordinator.ports import Sagas
from plumbing.logs import about
from plumbing.tracing import resumed


@contextmanager
def in_saga_trace(sagas: Sagas, saga: SagaInstance, what: str) -> Iterator[None]:
    """A span ``"<what> <current action>"`` in the trace the saga's order started, with its order and saga
    on every log line."""
    attributes = {"retrovault.saga_id": str(saga.saga_id), "retrovault.order_id": saga.order_id}
    with (
        resumed(sagas.trace_context(saga.saga_id), f"{what} {saga.current_action}", attributes),
        about(order_id=saga.order_id, saga_id=saga.saga_id),
    ):
        yield
