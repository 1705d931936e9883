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

    def add(self, order: Order) -> bool:
        """Store a new order and its lines; False, storing nothing, if an order committed by another transaction
        already holds its Idempotency-Key (waiting for one still in flight to end)."""
        ...

    def get(self, order_id: str) -> Order | None:
        """One order, or None."""
        ...

    def lock(self, order_id: str) -> Order | None:
        """One order, locked for update, or None."""
        ...

    def by_idempotency_key(self, key: str) -> Order | None:
        """The order placed earlier with this Idempotency-Key, or None."""
        ...

    def save_status(self, order: Order) -> None:
        """Write an order's status and reason (and mark it changed now)."""
        ...

    def timestamps(self, order_id: str) -> tuple[datetime, datetime]:
        """When an existing order was created and last changed."""
        ...


class ProductView(Protocol):
    """Orders' local copy of the catalogue, kept in step by catalog's product events."""

    def prices(self, skus: Iterable[str]) -> dict[str, int]:
        """Current unit prices of those of ``skus`` the view knows."""
        ...

    def count(self) -> int:
        """How many products the view holds."""
        ...

    def upsert(self, product: ProductChanged) -> None:
        """Take a product's new state, unless the view already holds a newer revision of it."""
        ...


class OrdersUnitOfWork(Messages, Protocol):
    """One transaction over orders' repositories, with the messages it sends."""

    @property
    def orders(self) -> Orders: ...

    @property
    def product_view(self) -> ProductView: ...
