"""The ports orders' use cases work through; adapters implement them, unit tests fake them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from contracts.catalog import ProductChanged
from orders.domain.orders import Order
from plumbing.unit_of_work import Messages


class Orders(Protocol):
    """The orders customers placed, with their lines."""

    def add_many(self, new: Iterable[Order]) -> set[str]:
        """Store new orders and their lines; returns the ids stored. An order whose Idempotency-Key an order
        committed by another transaction already holds is not stored (waiting for one still in flight to end)."""
        ...

    def get(self, order_id: str) -> Order | None:
        """One order, or None."""
        ...

    def lock_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        """The orders that exist, locked for update in order id order (the same order for every writer)."""
        ...

    def by_idempotency_keys(self, keys: Iterable[str]) -> dict[str, Order]:
        """The orders placed earlier with these Idempotency-Keys, by key."""
        ...

    def save_statuses(self, decided: Iterable[Order]) -> None:
        """Write orders' statuses and reasons (and mark them changed now); at most one entry per order."""
        ...

    def timestamps(self, order_id: str) -> tuple[datetime, datetime]:
        """When an existing order was created and last changed."""
        ...

    def for_customer(self, customer_id: str, limit: int) -> list[tuple[Order, datetime, datetime]]:
        """A customer's ``limit`` newest orders, newest first, each with when it was created and last changed."""
        ...


class ProductView(Protocol):
    """Orders' local copy of the catalogue, kept in step by catalog's product events."""

    def prices(self, skus: Iterable[str]) -> dict[str, int]:
        """Current unit prices of those of ``skus`` the view knows."""
        ...

    def count(self) -> int:
        """How many products the view holds."""
        ...

    def upsert_many(self, latest: Iterable[ProductChanged]) -> None:
        """Take products' new states (at most one per sku), each unless the view holds a newer revision of it."""
        ...


class OrdersUnitOfWork(Messages, Protocol):
    """One transaction over orders' repositories, with the messages it sends."""

    @property
    def orders(self) -> Orders: ...

    @property
    def product_view(self) -> ProductView: ...
