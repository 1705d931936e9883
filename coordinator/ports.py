"""The ports the coordinator's use cases work through; adapters implement them, unit tests fake them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

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


@dataclass(frozen=True)
class Disposition:
    """What an operator did with a dead letter last: ``replayed`` (``replays`` times in all) or ``discarded``."""

    letter_id: str  # the letter's ``unique_id`` (``partition-offset@timestamp``): fresh for a re-created topic
    disposition: Literal["replayed", "discarded"]
    actor: str
    at: datetime | None = None
    replays: int = 0


class Dispositions(Protocol):
    """What operators did with dead letters, one row per letter."""

    def lock(self, letter_id: str) -> Disposition | None:
        """The letter's disposition (None: none yet); operators' actions on one letter wait for each other from
        here until the transaction ends, even on a letter with none yet."""
        ...

    def put(self, disposition: Disposition) -> Disposition:
        """Write the letter's disposition, stamped with the transaction's time; returns it as stored."""
        ...

    def of(self, letter_ids: Iterable[str]) -> dict[str, Disposition]:
        """The dispositions of these letters (those that have one)."""
        ...


class CatalogStock(Protocol):
    """Catalog's HTTP API as the dashboard uses it: the products, and an operator's change to one's stock."""

    def products(self) -> list[dict[str, Any]]:
        """Every product with its stock figures and revision (catalog's ``GET /products``)."""
        ...

    def adjustments(self) -> list[dict[str, Any]]:
        """The latest changes to units on hand, newest first, each with who made it (``GET /stock-adjustments``)."""
        ...

    def adjust(self, sku: str, delta: int, reason: str, actor: str) -> dict[str, Any]:
        """Add (or take away) units on hand for ``actor``; returns the product. ``StockRefused`` on a 4xx."""
        ...

    def set_available(self, sku: str, available: int, revision: int, actor: str) -> dict[str, Any]:
        """Count a product as of ``revision``; returns the product. ``StockRefused`` on a 4xx."""
        ...


class StockRefused(Exception):
    """Catalog refused a stock change (its problem's detail is the message); ``status`` is its HTTP status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class CoordinatorUnitOfWork(Messages, Protocol):
    """One transaction over the coordinator's sagas, with the commands it sends."""

    @property
    def sagas(self) -> Sagas: ...

    @property
    def dispositions(self) -> Dispositions: ...

    def republish(self, *, topic: str, key: str | None, value: bytes, headers: dict[str, str]) -> None:
        """Queue a message's original bytes for its original topic again (an operator's dead-letter replay)."""
        ...
