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
from plumbing.json_rows import Deferred, insert_rows, recordset
from plumbing.outbox import Outgoing

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
# A batch's changes in one statement each, whatever its size: the rows as one JSON parameter
# (``plumbing.json_rows``), sent with the transaction's outbox insert (``UnitOfWork.defer``): nothing reads them
# back in the transaction (the products and reservations are locked and changed in memory first).
_SAVE_STOCK = Deferred(
    "UPDATE products AS p SET on_hand = v.on_hand, reserved = v.reserved, revision = v.revision FROM "
    + recordset({"sku": "text", "on_hand": "integer", "reserved": "integer", "revision": "bigint"}, "v", param="stock")
    + " WHERE p.sku = v.sku",
    "stock",
)
_LOCK_RESERVATIONS = (
    sa.select(reservations)
    .where(reservations.c.order_id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(reservations.c.order_id)
    .with_for_update()
)
_SAVE_RESERVATIONS = Deferred(
    insert_rows(
        reservations.name,
        {"order_id": "text", "saga_id": "uuid", "status": "text", "lines": "jsonb"},
        suffix="ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = now()",
        param="reservations",
    ).text,
    "reservations",
)


class ProductRepository:
    """Products and their stock figures in catalog's database (implements ``catalog.ports.Products``)."""

    def __init__(self, conn: Connection, deferring: Outgoing) -> None:
        self._conn = conn
        self._deferring = deferring

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
        """Write the units on hand, the units reserved and the revision of changed products, in one statement
        (with the outbox insert)."""
        self._deferring.defer(
            _SAVE_STOCK,
            [{"sku": p.sku, "on_hand": p.on_hand, "reserved": p.reserved, "revision": p.revision} for p in changed],
        )

    def add_missing(self, candidates: Iterable[Product]) -> None:
        """Insert products whose sku is not there yet; existing rows are left untouched."""
        rows = [{name: getattr(p, name) for name in _FIELDS} for p in candidates]
        if rows:
            self._conn.execute(pg_insert(products).on_conflict_do_nothing(index_elements=["sku"]), rows)


class ReservationRepository:
    """What each order took from stock (implements ``catalog.ports.Reservations``)."""

    def __init__(self, conn: Connection, deferring: Outgoing) -> None:
        self._conn = conn
        self._deferring = deferring

    def lock_many(self, order_ids: Iterable[str]) -> dict[str, Reservation]:
        """The orders' reservations that exist, row-locked in order id order."""
        rows = self._conn.execute(_LOCK_RESERVATIONS, {"order_ids": sorted(set(order_ids))})
        return {
            row.order_id: Reservation(
                row.order_id, [(sku, qty) for sku, qty in row.lines], ReservationStatus(row.status)
            )
            for row in rows
        }

    def save_many(self, saved: Iterable[tuple[Reservation, uuid.UUID | None]]) -> None:
        """Insert new reservations and update the status of existing ones, in one statement (one row per order;
        with the outbox insert)."""
        self._deferring.defer(
            _SAVE_RESERVATIONS,
            [
                {"order_id": r.order_id, "saga_id": saga_id, "status": r.status.value, "lines": r.lines}
                for r, saga_id in saved
            ],
        )
