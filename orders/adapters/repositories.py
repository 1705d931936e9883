"""Orders' repositories: orders and the local product view, through the unit of work's connection."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from contracts.catalog import ProductChanged
from orders.adapters.tables import order_lines, orders, product_view
from orders.domain.orders import Order, OrderLine, OrderStatus

# Hot statements built once (building one per call cost more CPU than running it).
_GET = sa.select(orders).where(orders.c.order_id == sa.bindparam("order_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
_LINES = (
    sa.select(order_lines.c.sku, order_lines.c.quantity, order_lines.c.unit_price_cents)
    .where(order_lines.c.order_id == sa.bindparam("order_id"))
    .order_by(order_lines.c.line_no)
)
_SAVE_STATUS = orders.update().where(orders.c.order_id == sa.bindparam("order_id_")).values(updated_at=sa.func.now())
# A concurrent insert of the same Idempotency-Key waits for the first to commit, then inserts nothing (no
# unique violation): ON CONFLICT on that index only, so any other constraint still fails loudly.
_ADD = pg_insert(orders).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(orders.c.order_id)
_ADD_LINES = order_lines.insert()
_PRICES = sa.select(product_view.c.sku, product_view.c.price_cents).where(
    product_view.c.sku == sa.any_(sa.bindparam("skus", type_=ARRAY(sa.Text)))
)
_PRODUCT_COLUMNS = ("sku", "title", "platform", "price_cents", "stock", "revision")
_INSERT_PRODUCT = pg_insert(product_view)
_UPSERT_PRODUCT = _INSERT_PRODUCT.on_conflict_do_update(
    index_elements=["sku"],
    set_={name: _INSERT_PRODUCT.excluded[name] for name in _PRODUCT_COLUMNS if name != "sku"},
    where=product_view.c.revision <= _INSERT_PRODUCT.excluded.revision,
)


class OrderRepository:
    """Orders and their lines in orders' database (implements ``orders.ports.Orders``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, order: Order) -> bool:
        """Insert a new order and its lines; False (nothing inserted) if another order holds its Idempotency-Key."""
        added = self._conn.execute(
            _ADD,
            {
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "status": order.status.value,
                "reason": order.reason,
                "total_cents": order.total_cents,
                "currency": order.currency,
                "payment_method": order.payment_method,
                "idempotency_key": order.idempotency_key,
                "request_fingerprint": order.request_fingerprint,
            },
        ).first()
        if added is None:
            return False
        self._conn.execute(
            _ADD_LINES,
            [{"order_id": order.order_id, "line_no": n, **vars(line)} for n, line in enumerate(order.lines, start=1)],
        )
        return True

    def get(self, order_id: str) -> Order | None:
        """One order with its lines, or None."""
        row = self._conn.execute(_GET, {"order_id": order_id}).first()
        return self._order(row) if row else None

    def lock(self, order_id: str) -> Order | None:
        """One order with its lines, its row locked for update, or None."""
        row = self._conn.execute(_GET_FOR_UPDATE, {"order_id": order_id}).first()
        return self._order(row) if row else None

    def by_idempotency_key(self, key: str) -> Order | None:
        """The order placed earlier with this Idempotency-Key, or None."""
        row = self._conn.execute(sa.select(orders).where(orders.c.idempotency_key == key)).first()
        return self._order(row) if row else None

    def save_status(self, order: Order) -> None:
        """Write an order's status and reason."""
        self._conn.execute(
            _SAVE_STATUS, {"order_id_": order.order_id, "status": order.status.value, "reason": order.reason}
        )

    def timestamps(self, order_id: str) -> tuple[datetime, datetime]:
        """When the order was created and last changed."""
        row = self._conn.execute(
            sa.select(orders.c.created_at, orders.c.updated_at).where(orders.c.order_id == order_id)
        ).one()
        return row.created_at, row.updated_at

    def _order(self, row: sa.Row[tuple[object, ...]]) -> Order:
        lines = self._conn.execute(_LINES, {"order_id": row.order_id})
        return Order(
            order_id=row.order_id,
            customer_id=row.customer_id,
            payment_method=row.payment_method,
            lines=[OrderLine(r.sku, r.quantity, r.unit_price_cents) for r in lines],
            currency=row.currency,
            status=OrderStatus(row.status),
            reason=row.reason,
            idempotency_key=row.idempotency_key,
            request_fingerprint=row.request_fingerprint,
        )


class ProductViewRepository:
    """The local copy of the catalogue in orders' database (implements ``orders.ports.ProductView``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def prices(self, skus: Iterable[str]) -> dict[str, int]:
        """Current unit prices of the given skus that the product view knows."""
        return {row.sku: row.price_cents for row in self._conn.execute(_PRICES, {"skus": sorted(set(skus))})}

    def count(self) -> int:
        """How many products the local view holds."""
        return int(self._conn.execute(sa.select(sa.func.count()).select_from(product_view)).scalar_one())

    def upsert(self, product: ProductChanged) -> None:
        """Apply a product event unless the view already holds a newer revision."""
        self._conn.execute(_UPSERT_PRODUCT, {name: getattr(product, name) for name in _PRODUCT_COLUMNS})
