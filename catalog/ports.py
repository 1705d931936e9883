"""The ports catalog's use cases work through; adapters implement them, unit tests fake them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol

from catalog.domain.adjustments import StockAdjustment
from catalog.domain.products import Product
from catalog.domain.reservations import Reservation
from plumbing.unit_of_work import Messages


class Products(Protocol):
    """The products and their stock figures."""

    def all(self) -> list[Product]:
        """Every product, by sku."""
        ...

    def get(self, sku: str) -> Product | None:
        """One product, or None."""
        ...

    def lock(self, skus: Iterable[str]) -> dict[str, Product]:
        """Load and lock products for update, in sku order (so concurrent writers cannot deadlock)."""
        ...

    def save_stock(self, changed: Iterable[Product]) -> None:
        """Write the units on hand, the units reserved and the revision of changed products."""
        ...

    def add_missing(self, candidates: Iterable[Product]) -> None:
        """Add products whose sku is not there yet; existing ones are left untouched."""
        ...


class Reservations(Protocol):
    """What each order took from stock."""

    def lock_many(self, order_ids: Iterable[str]) -> dict[str, Reservation]:
        """The orders' reservations that exist, locked for update in order id order (the same order for every
        writer, and always before any product: so no two writers can deadlock)."""
        ...

    def save_many(self, saved: Iterable[tuple[Reservation, uuid.UUID | None]]) -> None:
        """Insert new reservations (with the saga that made them) and update the status of existing ones; at most
        one entry per order."""
        ...


class StockAdjustments(Protocol):
    """The record of operators' changes to units on hand."""

    def add(self, adjustment: StockAdjustment) -> None:
        """Record an adjustment, stamped with the transaction's time."""
        ...

    def latest(self, sku: str | None, limit: int) -> list[StockAdjustment]:
        """The ``limit`` most recent adjustments, newest first: of one product, or of all when ``sku`` is None."""
        ...


class CatalogUnitOfWork(Messages, Protocol):
    """One transaction over catalog's repositories, with the messages it sends."""

    @property
    def products(self) -> Products: ...

    @property
    def reservations(self) -> Reservations: ...

    @property
    def adjustments(self) -> StockAdjustments: ...
