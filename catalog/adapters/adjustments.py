"""The stock adjustments repository: the record of operators' changes to units on hand."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.adapters.tables import stock_adjustments
from catalog.domain.adjustments import StockAdjustment

_LATEST = sa.select(
    stock_adjustments.c.sku,
    stock_adjustments.c.delta,
    stock_adjustments.c.reason,
    stock_adjustments.c.on_hand_after,
    stock_adjustments.c.at,
    stock_adjustments.c.adjusted_by,
).order_by(stock_adjustments.c.id.desc())


class StockAdjustmentRepository:
    """Stock adjustments in catalog's database (implements ``catalog.ports.StockAdjustments``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, adjustment: StockAdjustment) -> None:
        """Record an adjustment, stamped with the transaction's time."""
        self._conn.execute(
            stock_adjustments.insert().values(
                sku=adjustment.sku,
                delta=adjustment.delta,
                reason=adjustment.reason,
                on_hand_after=adjustment.on_hand_after,
                adjusted_by=adjustment.adjusted_by,
            )
        )

    def latest(self, sku: str | None, limit: int) -> list[StockAdjustment]:
        """The ``limit`` most recent adjustments, newest first: of one product, or of all when ``sku`` is None.

        Ids order them: each is taken while its product's row is locked, so one product's come in commit order.
        """
        query = _LATEST.limit(limit) if sku is None else _LATEST.where(stock_adjustments.c.sku == sku).limit(limit)
        return [StockAdjustment(**row._mapping) for row in self._conn.execute(query)]
