"""Orders' repositories: orders and the local product view, through the unit of work's connection.

Writes take a batch at a time, each in one statement whatever its size: the rows as one JSON parameter
(``plumbing.json_rows``), so the statement's text (and its plan) never changes with the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from contracts.catalog import ProductChanged
from orders.adapters.tables import order_lines, orders, product_view
from orders.domain.orders import Order, OrderLine, OrderStatus
from plumbing.json_rows import Deferred, insert_rows, recordset, rows_param
from plumbing.outbox import Outgoing

# Hot statements built once (building one per call cost more CPU than running it).
_IDS = sa.bindparam("ids", type_=ARRAY(sa.Text))
_GET = sa.select(orders).where(orders.c.order_id == sa.bindparam("order_id"))
_LOCK = sa.select(orders).where(orders.c.order_id == sa.any_(_IDS)).order_by(orders.c.order_id).with_for_update()
_BY_KEYS = sa.select(orders).where(orders.c.idempotency_key == sa.any_(sa.bindparam("keys", type_=ARRAY(sa.Text))))
_LINES = (
    sa.select(order_lines.c.order_id, order_lines.c.sku, order_lines.c.quantity, order_lines.c.unit_price_cents)
    .where(order_lines.c.order_id == sa.any_(_IDS))
    .order_by(order_lines.c.order_id, order_lines.c.line_no)
)
_FOR_CUSTOMER = (
    sa.select(orders)
    .where(orders.c.customer_id == sa.bindparam("customer_id"))
    .order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
    .limit(sa.bindparam("limit"))
)
_ORDER_TYPES = {
    "order_id": "text",
    "customer_id": "text",
    "status": "text",
    "reason": "text",
    "total_cents": "bigint",
    "currency": "text",
    "payment_method": "text",
    "idempotency_key": "text",
    "request_fingerprint": "text",
}
# A concurrent insert of the same Idempotency-Key waits for the first to commit, then inserts nothing (no
# unique violation): ON CONFLICT on that key only, so any other constraint still fails loudly.
_ADD = insert_rows(orders.name, _ORDER_TYPES, suffix="ON CONFLICT (idempotency_key) DO NOTHING RETURNING order_id")
_LINE_TYPES = {
    "order_id": "text",
    "line_no": "integer",
    "sku": "text",
    "quantity": "integer",
    "unit_price_cents": "bigint",
}
# Writes nothing in the transaction reads back, sent with its outbox insert (``UnitOfWork.defer``).
_ADD_LINES = Deferred(insert_rows(order_lines.name, _LINE_TYPES, param="lines").text, "lines")
_SAVE_STATUSES = Deferred(
    "UPDATE orders AS o SET status = v.status, reason = v.reason, updated_at = now() FROM "
    + recordset({"order_id": "text", "status": "text", "reason": "text"}, "v", param="statuses")
    + " WHERE o.order_id = v.order_id",
    "statuses",
)
_PRICES = sa.select(product_view.c.sku, product_view.c.price_cents).where(
    product_view.c.sku == sa.any_(sa.bindparam("skus", type_=ARRAY(sa.Text)))
)
_UPSERT_PRODUCTS = Deferred(
    insert_rows(
        "product_view AS p",
        {
            "sku": "text",
            "title": "text",
            "platform": "text",
            "price_cents": "bigint",
            "stock": "integer",
            "revision": "bigint",
        },
        suffix="ON CONFLICT (sku) DO UPDATE SET title = excluded.title, platform = excluded.platform,"
        " price_cents = excluded.price_cents, stock = excluded.stock, revision = excluded.revision"
        " WHERE p.revision <= excluded.revision",
        param="products",
    ).text,
    "products",
)


class OrderRepository:
    """Orders and their lines in orders' database (implements ``orders.ports.Orders``)."""

    def __init__(self, conn: Connection, deferring: Outgoing) -> None:
        self._conn = conn
        self._deferring = deferring

    def add_many(self, new: Iterable[Order]) -> set[str]:
        """Insert new orders and their lines; returns the ids inserted (not those whose Idempotency-Key another
        order holds)."""
        # In key order, as every writer inserts them: two groups inserting the same keys cannot deadlock.
        placed = sorted(new, key=lambda o: (o.idempotency_key is None, o.idempotency_key or ""))
        if not placed:
            return set()
        added = set(
            self._conn.execute(
                _ADD,
                rows_param(
                    [{name: getattr(o, name) for name in _ORDER_TYPES} | {"status": o.status.value} for o in placed]
                ),
            ).scalars()
        )
        self._deferring.defer(
            _ADD_LINES,
            [
                {
                    "order_id": o.order_id,
                    "line_no": n,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price_cents": line.unit_price_cents,
                }
                for o in placed
                if o.order_id in added
                for n, line in enumerate(o.lines, 1)
            ],
        )
        return added

    def get(self, order_id: str) -> Order | None:
        """One order with its lines, or None."""
        found = self._orders(self._conn.execute(_GET, {"order_id": order_id}).all())
        return found[0] if found else None

    def lock_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        """The orders that exist, with their lines, their rows locked for update in order id order."""
        rows = self._conn.execute(_LOCK, {"ids": sorted(set(order_ids))}).all()
        return {order.order_id: order for order in self._orders(rows)}

    def by_idempotency_keys(self, keys: Iterable[str]) -> dict[str, Order]:
        """The orders placed earlier with these Idempotency-Keys, by key."""
        rows = self._conn.execute(_BY_KEYS, {"keys": sorted(set(keys))}).all()
        return {order.idempotency_key: order for order in self._orders(rows) if order.idempotency_key is not None}

    def save_statuses(self, decided: Iterable[Order]) -> None:
        """Write the orders' statuses and reasons (and mark them changed now), with the outbox insert."""
        self._deferring.defer(
            _SAVE_STATUSES, [{"order_id": o.order_id, "status": o.status.value, "reason": o.reason} for o in decided]
        )

    def timestamps(self, order_id: str) -> tuple[datetime, datetime]:
        """When the order was created and last changed."""
        row = self._conn.execute(
            sa.select(orders.c.created_at, orders.c.updated_at).where(orders.c.order_id == order_id)
        ).one()
        return row.created_at, row.updated_at

    def for_customer(self, customer_id: str, limit: int) -> list[tuple[Order, datetime, datetime]]:
        """A customer's ``limit`` newest orders with their lines and timestamps, newest first."""
        rows = self._conn.execute(_FOR_CUSTOMER, {"customer_id": customer_id, "limit": limit}).all()
        times = {row.order_id: (row.created_at, row.updated_at) for row in rows}
        return [(order, *times[order.order_id]) for order in self._orders(rows)]

    def _orders(self, rows: Sequence[sa.Row[Any]]) -> list[Order]:
        """Orders from their rows, their lines read in one statement."""
        if not rows:
            return []
        lines: dict[str, list[OrderLine]] = {row.order_id: [] for row in rows}
        for line in self._conn.execute(_LINES, {"ids": list(lines)}):
            lines[line.order_id].append(OrderLine(line.sku, line.quantity, line.unit_price_cents))
        return [
            Order(
                order_id=row.order_id,
                customer_id=row.customer_id,
                payment_method=row.payment_method,
                lines=lines[row.order_id],
                currency=row.currency,
                status=OrderStatus(row.status),
                reason=row.reason,
                idempotency_key=row.idempotency_key,
                request_fingerprint=row.request_fingerprint,
            )
            for row in rows
        ]


class ProductViewRepository:
    """The local copy of the catalogue in orders' database (implements ``orders.ports.ProductView``)."""

    def __init__(self, conn: Connection, deferring: Outgoing) -> None:
        self._conn = conn
        self._deferring = deferring

    def prices(self, skus: Iterable[str]) -> dict[str, int]:
        """Current unit prices of the given skus that the product view knows."""
        return {row.sku: row.price_cents for row in self._conn.execute(_PRICES, {"skus": sorted(set(skus))})}

    def count(self) -> int:
        """How many products the local view holds."""
        return int(self._conn.execute(sa.select(sa.func.count()).select_from(product_view)).scalar_one())

    def upsert_many(self, latest: Iterable[ProductChanged]) -> None:
        """Take products' new states (one per sku), each unless the view already holds a newer revision (with the
        outbox insert)."""
        self._deferring.defer(
            _UPSERT_PRODUCTS,
            [
                {
                    "sku": p.sku,
                    "title": p.title,
                    "platform": p.platform,
                    "price_cents": p.price_cents,
                    "stock": p.stock,
                    "revision": p.revision,
                }
                for p in latest
            ],
        )
