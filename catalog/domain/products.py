"""Products and the rule that stock never goes below zero."""

from __future__ import annotations

from dataclasses import dataclass


class InsufficientStock(Exception):
    """A line asks for more than is in stock (or for a product that does not exist)."""

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"out of stock: {sku} (requested {requested}, available {available})")
        self.sku = sku
        self.requested = requested
        self.available = available


@dataclass
class Product:
    """A game for sale; ``revision`` counts its changes so copies elsewhere can ignore stale events."""

    sku: str
    title: str
    platform: str
    release_year: int
    price_cents: int
    stock: int
    revision: int = 1

    def take(self, quantity: int) -> None:
        """Remove ``quantity`` from stock, refusing to go below zero."""
        if quantity > self.stock:
            raise InsufficientStock(self.sku, quantity, self.stock)
        self.stock -= quantity
        self.revision += 1

    def give_back(self, quantity: int) -> None:
        """Return ``quantity`` to stock."""
        self.stock += quantity
        self.revision += 1

    def set_stock(self, quantity: int) -> None:
        """Set the stock after a delivery or a count."""
        if quantity < 0:
            raise ValueError("stock cannot be negative")
        self.stock = quantity
        self.revision += 1
