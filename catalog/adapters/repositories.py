"""Catalog's repositories: products and reservations, through the unit of work's connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from catalog.adapters.tables import products, reservations
from catalog.domain.products import Product
from catalog.domain.reservations import Reservation, ReservationStatus

_FIELDS = ("sku", "title", "platform", "release_year", "price_cents", "on_hand", "reserved", "revision")
_COLUMNS = [products.c[name] for name in _FIELDS]  # ``stock`` is computed by PostgreSQL from these


def _product(row: sa.Row[tuple[object, ...]]) -> Product:
    return Product(**row._mapping)


# Hot statements built once (building one per call cost more CPU than running it).
_LOCK_PRODUCTS = (
    sa.select(*_COLUMNS)
    .where(products.c.sku.in_(sa.bindparam("skus", expanding=True)))
    .order_by(products.c.sku)
    .with_for_update()
)
_SAVE_STOCK = (
    products.update()
    .where(products.c.sku == sa.bindparam("k"))
    .values(on_hand=sa.bindparam("on_hand"), reserved=sa.bindparam("reserved"), revision=sa.bindparam("revision"))
)
_LOCK_RESERVATIONS = (
    sa.select(reservations)
    .where(reservations.c.order_id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(reservations.c.order_id)
    .with_for_update()
)
_INSERT_RESERVATION = pg_insert(reservations)
_SAVE_RESERVATION = _INSERT_RESERVATION.on_conflict_do_update(
    index_elements=["order_id"], set_={"status": _INSERT_RESERVATION.excluded.status, "updated_at": sa.func.now()}
)


class ProductRepository:
    """Products and their stock figures in catalog's database (implements ``catalog.ports.Products``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def all(self) -> list[Product]:
        """Every product, by sku."""
        return [_product(r) for r in self._conn.execute(sa.select(*_COLUMNS).order_by(products.c.sku))]

    def get(self, sku: str) -> Product | None:
        """One product, or None."""
        row = self._conn.execute(sa.select(*_COLUMNS).where(products.c.sku == sku)).first()
        return _product(row) if row else None

    def lock(self, skus: Iterable[str]) -> dict[str, Product]:
        """Load and row-lock products in one statement, in sku order, so concurrent writers cannot deadlock
        (a batch of stock commands locks all its products in this one call)."""
        return {row.sku: _product(row) for row in self._conn.execute(_LOCK_PRODUCTS, {"skus": sorted(set(skus))})}

    def save_stock(self, changed: Iterable[Product]) -> None:
        """Write the units on hand, the units reserved and the revision of changed products."""
        rows = [{"k": p.sku, "on_hand": p.on_hand, "reserved": p.reserved, "revision": p.revision} for p in changed]
        if rows:
            self._conn.execute(_SAVE_STOCK, rows)

    def add_missing(self, candidates: Iterable[Product]) -> None:
        """Insert products whose sku is not there yet; existing rows are left untouched."""
        rows = [{name: getattr(p, name) for name in _FIELDS} for p in candidates]
        if rows:
            self._conn.execute(pg_insert(products).on_conflict_do_nothing(index_elements=["sku"]), rows)


class ReservationRepository:
    """What each order took from stock (implements ``catalog.ports.Reservations``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def lock_many(self, order_ids: Iterable[str]) -> dict[str, Reservation]:
        """The orders' reservations that exist, row-locked in order id order."""
        rows = self._conn.execute(_LOCK_RESERVATIONS, {"order_ids": sorted(set(order_ids))})
        return {
            row.order_id: Reservation(
                row.order_id, [(sku, qty) for sku, qty in row.lines], ReservationStatus(row.status)
            )
            for row in rows
        }

    def save(self, reservation: Reservation, saga_id: uuid.UUID | None) -> None:
        """Insert or update a reservation."""
        values = {
            "order_id": reservation.order_id,
            "saga_id": saga_id,
            "status": reservation.status.value,
            "lines": [list(line) for line in reservation.lines],
        }
        self._conn.execute(_SAVE_RESERVATION, values)
