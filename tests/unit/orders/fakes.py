"""Orders' ports in memory."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from contracts.catalog import ProductChanged
from orders.domain.orders import Order, OrderLine
from tests.unit.fakes import FakeMessages, FakeUnitsOfWork

PLACED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FakeOrders:
    """``orders.ports.Orders`` in a dict; hands out copies, as a database would.

    Each order is created at ``PLACED_AT``; each saved status moves its ``updated_at`` one minute on.
    ``concurrent`` holds orders other transactions commit just before the next ``add_many`` (a race lost on the
    key). ``calls`` counts each method's calls (a statement each, or two, in the database).
    """

    def __init__(self) -> None:
        self.rows: dict[str, Order] = {}
        self.times: dict[str, tuple[datetime, datetime]] = {}
        self.locked: list[list[str]] = []
        self.concurrent: list[Order] = []
        self.calls: Counter[str] = Counter()

    def add(self, order: Order) -> bool:
        """Store one order as ``add_many`` would (for tests that need an order placed earlier)."""
        return order.order_id in self.add_many([order])

    def add_many(self, new: Iterable[Order]) -> set[str]:
        self.calls["add_many"] += 1
        for other in self.concurrent:
            self._insert(other)
        self.concurrent = []
        added = set()
        for order in new:
            key = order.idempotency_key
            if key is None or not self.by_idempotency_keys([key], count=False):
                self._insert(order)
                added.add(order.order_id)
        return added

    def _insert(self, order: Order) -> None:
        assert order.order_id not in self.rows, "an order is added once"
        self.rows[order.order_id] = copy.deepcopy(order)
        self.times[order.order_id] = (PLACED_AT, PLACED_AT)

    def get(self, order_id: str) -> Order | None:
        return copy.deepcopy(self.rows.get(order_id))

    def for_customer(self, customer_id: str, limit: int) -> list[tuple[Order, datetime, datetime]]:
        self.calls["for_customer"] += 1
        found = [o for o in self.rows.values() if o.customer_id == customer_id][::-1][:limit]
        return [(copy.deepcopy(o), *self.times[o.order_id]) for o in found]

    def lock_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        wanted = sorted(set(order_ids))
        self.calls["lock_many"] += 1
        self.locked.append(wanted)
        return {order_id: copy.deepcopy(self.rows[order_id]) for order_id in wanted if order_id in self.rows}

    def by_idempotency_keys(self, keys: Iterable[str], *, count: bool = True) -> dict[str, Order]:
        self.calls["by_idempotency_keys"] += count
        wanted = set(keys)
        return {o.idempotency_key: copy.deepcopy(o) for o in self.rows.values() if o.idempotency_key in wanted}

    def save_statuses(self, decided: Iterable[Order]) -> None:
        self.calls["save_statuses"] += 1
        orders = list(decided)
        assert len({o.order_id for o in orders}) == len(orders), "one row per order in one statement"
        for order in orders:
            stored = self.rows[order.order_id]
            stored.status, stored.reason = order.status, order.reason
            created_at, updated_at = self.times[order.order_id]
            self.times[order.order_id] = (created_at, updated_at + timedelta(minutes=1))

    def timestamps(self, order_id: str) -> tuple[datetime, datetime]:
        return self.times[order_id]


class FakeProductView:
    """``orders.ports.ProductView`` in a dict of the latest product events, by sku."""

    def __init__(self, products: Iterable[ProductChanged] = ()) -> None:
        self.rows = {p.sku: p for p in products}
        self.writes = 0

    def prices(self, skus: Iterable[str]) -> dict[str, int]:
        return {sku: self.rows[sku].price_cents for sku in set(skus) if sku in self.rows}

    def count(self) -> int:
        return len(self.rows)

    def upsert_many(self, latest: Iterable[ProductChanged]) -> None:
        self.writes += 1
        products = list(latest)
        assert len({p.sku for p in products}) == len(products), "one row per sku in one statement"
        for product in products:
            held = self.rows.get(product.sku)
            if held is None or held.revision <= product.revision:
                self.rows[product.sku] = product


class FakeOrdersUnitOfWork(FakeMessages):
    """``orders.ports.OrdersUnitOfWork`` in memory."""

    def __init__(self, products: Iterable[ProductChanged] = ()) -> None:
        super().__init__()
        self.orders = FakeOrders()
        self.product_view = FakeProductView(products)


def shop(*products: ProductChanged) -> FakeUnitsOfWork[FakeOrdersUnitOfWork]:
    """Units of work over an orders service whose product view holds ``products``."""
    return FakeUnitsOfWork(FakeOrdersUnitOfWork(products))


def product(sku: str, price_cents: int = 4999, revision: int = 1, stock: int = 5) -> ProductChanged:
    """Catalog's event for a product with a made-up title."""
    return ProductChanged(
        sku=sku,
        title=f"Game {sku}",
        platform="SNES",
        release_year=1994,
        price_cents=price_cents,
        stock=stock,
        revision=revision,
    )


def pending(uow: FakeOrdersUnitOfWork, order_id: str = "o-1") -> Order:
    """Store a PENDING order of one NES-SMB3 at 49.99 in ``uow``, as if placed earlier."""
    order = Order(order_id, "c-1", "pm_card_visa", [OrderLine("NES-SMB3", 1, 4999)])
    uow.orders.add(order)
    return order
