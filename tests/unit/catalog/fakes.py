"""Catalog's ports in memory."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from catalog.domain.adjustments import StockAdjustment
from catalog.domain.products import Product
from catalog.domain.reservations import Reservation
from tests.unit.fakes import FakeMessages, FakeUnitsOfWork


class FakeProducts:
    """``catalog.ports.Products`` in a dict; hands out copies, as a database would."""

    def __init__(self, products: Iterable[Product] = (), calls: list[str] | None = None) -> None:
        self.rows = {p.sku: copy.copy(p) for p in products}
        self.locked: list[list[str]] = []
        self.calls = [] if calls is None else calls
        """Every lock and save, in order (shared with the reservations of the same unit of work)."""

    def all(self) -> list[Product]:
        return [copy.copy(self.rows[sku]) for sku in sorted(self.rows)]

    def get(self, sku: str) -> Product | None:
        return copy.copy(self.rows[sku]) if sku in self.rows else None

    def lock(self, skus: Iterable[str]) -> dict[str, Product]:
        wanted = sorted(set(skus))
        self.locked.append(wanted)
        self.calls.append("lock products")
        return {sku: copy.copy(self.rows[sku]) for sku in wanted if sku in self.rows}

    def save_stock(self, changed: Iterable[Product]) -> None:
        self.calls.append("save products")
        for p in changed:
            self.rows[p.sku] = copy.copy(p)

    def add_missing(self, candidates: Iterable[Product]) -> None:
        for p in candidates:
            self.rows.setdefault(p.sku, copy.copy(p))


class FakeReservations:
    """``catalog.ports.Reservations`` in a dict."""

    def __init__(self, calls: list[str] | None = None) -> None:
        self.rows: dict[str, tuple[Reservation, uuid.UUID | None]] = {}
        self.locked: list[list[str]] = []
        self.calls = [] if calls is None else calls

    def lock_many(self, order_ids: Iterable[str]) -> dict[str, Reservation]:
        wanted = sorted(set(order_ids))
        self.locked.append(wanted)
        self.calls.append("lock reservations")
        return {order_id: copy.deepcopy(self.rows[order_id][0]) for order_id in wanted if order_id in self.rows}

    def save_many(self, saved: Iterable[tuple[Reservation, uuid.UUID | None]]) -> None:
        self.calls.append("save reservations")
        rows = list(saved)
        assert len({r.order_id for r, _ in rows}) == len(rows), "one row per order in one statement"
        for reservation, saga_id in rows:
            held = self.rows.get(reservation.order_id)
            self.rows[reservation.order_id] = (copy.deepcopy(reservation), saga_id if held is None else held[1])


class FakeStockAdjustments:
    """``catalog.ports.StockAdjustments`` in a list, oldest first."""

    def __init__(self) -> None:
        self.rows: list[StockAdjustment] = []

    def add(self, adjustment: StockAdjustment) -> None:
        self.rows.append(dataclasses.replace(adjustment, at=datetime.now(UTC)))

    def latest(self, sku: str | None, limit: int) -> list[StockAdjustment]:
        return [a for a in reversed(self.rows) if sku in (None, a.sku)][:limit]


class FakeCatalogUnitOfWork(FakeMessages):
    """``catalog.ports.CatalogUnitOfWork`` in memory."""

    def __init__(self, products: Iterable[Product] = ()) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.products = FakeProducts(products, self.calls)
        self.reservations = FakeReservations(self.calls)
        self.adjustments = FakeStockAdjustments()


def catalog(*products: Product) -> FakeUnitsOfWork[FakeCatalogUnitOfWork]:
    """Units of work over a catalogue holding ``products``."""
    return FakeUnitsOfWork(FakeCatalogUnitOfWork(products))


def product(sku: str, stock: int, price_cents: int = 4999, *, reserved: int = 0) -> Product:
    """A product with a made-up title, ``stock`` units available and ``reserved`` more held on the shelf."""
    return Product(sku, f"Game {sku}", "SNES", 1994, price_cents, on_hand=stock + reserved, reserved=reserved)
