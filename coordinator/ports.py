"""The ports the coordinator's use cases work through; adapters implement them, unit tests fake them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from coordinator.engine.instance import HistoryEntry, SagaInstance
from plumbing.unit_of_work import Messages


class ConcurrentUpdate(Exception):
    """Another transaction advanced the saga first; the caller's work must be redone."""


class Sagas(Protocol):
    """Saga instances and their timelines; every update is a compare-and-set on the saga's ``version``."""

    def add_many(self, new: Iterable[tuple[SagaInstance, str | None]]) -> set[uuid.UUID]:
        """Insert new sagas at version 1, each with the ``traceparent`` of its order's trace, in one statement;
        returns the ids inserted (one whose order already has a saga, its start a redelivery, is left out)."""
        ...

    def get(self, saga_id: uuid.UUID) -> SagaInstance | None:
        """One saga, or None."""
        ...

    def lock(self, saga_id: uuid.UUID) -> SagaInstance | None:
        """One saga, locked until the transaction ends, or None."""
        ...

    def lock_many(self, saga_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, SagaInstance]:
        """Several sagas, locked in saga id order (the same order everywhere, so no deadlock)."""
        ...

    def save(self, saga: SagaInstance) -> None:
        """Write the saga if nobody changed it since it was read, and bump its version; else ``ConcurrentUpdate``."""
        ...

    def save_many(self, changed: Iterable[tuple[SagaInstance, int]]) -> None:
        """Write sagas read at the given versions at once, as ``save`` does; their versions are bumped already."""
        ...

    def due(self, now: datetime, limit: int) -> list[SagaInstance]:
        """Sagas whose awaited reply is overdue, locked, oldest deadline first (ones locked elsewhere skipped)."""
        ...

    def record(self, entries: Iterable[HistoryEntry]) -> None:
        """Append timeline entries."""
        ...

    def trace_context(self, saga_id: uuid.UUID) -> str | None:
        """The ``traceparent`` of the trace the saga's order started (None for sagas from before tracing)."""
        ...


class CoordinatorUnitOfWork(Messages, Protocol):
    """One transaction over the coordinator's sagas, with the commands it sends."""

    @property
    def sagas(self) -> Sagas: ...

    def republish(self, *, topic: str, key: str | None, value: bytes, headers: dict[str, str]) -> None:
        """Queue a message's original bytes for its original topic again (an operator's dead-letter replay)."""
        ...
