"""Products and their three stock figures: on hand, reserved and available.

- ``on_hand``: the units on the shelf, reserved ones included. Only an operator changes it: a relative
  adjustment (a delivery, a breakage, a correction) or a count that sets the units available.
- ``reserved``: the units held by reservations that were not released. Reserving moves units from
  available into reserved; releasing (a compensation) moves them back; neither touches ``on_hand``.
  An approved order's reservation stays held: nothing ships them yet, so the units are still on the shelf
  and promised. A future shipping step would take them out of ``on_hand`` and ``reserved`` together.
- ``available = on_hand - reserved``: what can still be ordered, never negative. It is what the API and
  ``ProductChanged`` call ``stock``, and it moves exactly as ``stock`` always did: down on a reservation,
  up on a release, unchanged by an approval.

No operator's change may leave ``on_hand`` below ``reserved``, so no restock can erase a reservation.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.domain.adjustments import StockAdjustment

MAX_ON_HAND = 1_000_000_000
"""More units than any shelf holds; keeps every figure far inside the database's 32-bit integers."""


class InsufficientStock(Exception):
    """A line asks for more than is available (or for a product that does not exist)."""

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"out of stock: {sku} (requested {requested}, available {available})")
        self.sku = sku
        self.requested = requested
        self.available = available


class StockChangeRefused(Exception):
    """An operator's change would leave fewer units on hand than are reserved, or more than ``MAX_ON_HAND``."""


class StaleRevision(Exception):
    """A change was decided on an old copy of the product: its revision is no longer the product's."""

    def __init__(self, sku: str, expected: int, current: int) -> None:
        super().__init__(f"{sku} is at revision {current}, not {expected}: read it again")
        self.current = current


@dataclass
class Product:
    """A game for sale; ``revision`` counts its changes so copies elsewhere can ignore stale ones."""

    sku: str
    title: str
    platform: str
    release_year: int
    price_cents: int
    on_hand: int
    reserved: int = 0
    revision: int = 1

    @property
    def available(self) -> int:
        """Units that can still be ordered (the API's and ``ProductChanged``'s ``stock``)."""
        return self.on_hand - self.reserved

    def reserve(self, quantity: int) -> None:
        """Hold ``quantity`` units for an order, refusing more than are available."""
        if quantity > self.available:
            raise InsufficientStock(self.sku, quantity, self.available)
        self.reserved += quantity
        self.revision += 1

    def release(self, quantity: int) -> None:
        """Make ``quantity`` held units available again."""
        if quantity > self.reserved:  # only a bug could get here: reservations are released once
            raise ValueError(f"{self.sku}: cannot release {quantity} of {self.reserved} reserved units")
        self.reserved -= quantity
        self.revision += 1

    def adjust(self, delta: int, reason: str) -> StockAdjustment:
        """Add ``delta`` units on hand (take them away when negative); refused if it would take reserved units."""
        return self._put_on_hand(self.on_hand + delta, reason)

    def set_available(self, units: int, revision: int) -> StockAdjustment:
        """Count the shelf: make ``units`` available on top of the reserved ones, if ``revision`` is still current."""
        if revision != self.revision:
            raise StaleRevision(self.sku, revision, self.revision)
        return self._put_on_hand(self.reserved + units, f"count: {units} available")

    def _put_on_hand(self, on_hand: int, reason: str) -> StockAdjustment:
        if on_hand < self.reserved:
            raise StockChangeRefused(
                f"would leave {on_hand} on hand for {self.reserved} reserved ({self.available} available): "
                "a restock cannot take reserved units"
            )
        if on_hand > MAX_ON_HAND:
            raise StockChangeRefused(f"would put {on_hand} units on hand, more than {MAX_ON_HAND}")
        adjustment = StockAdjustment(self.sku, on_hand - self.on_hand, reason, on_hand)
        self.on_hand = on_hand
        self.revision += 1
        return adjustment
