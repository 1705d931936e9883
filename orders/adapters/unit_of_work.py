"""Orders' unit of work: one transaction with its repositories bound to it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orders.adapters.repositories import OrderRepository, ProductViewRepository
from plumbing.unit_of_work import UnitOfWork


class SqlOrdersUnitOfWork(UnitOfWork):
    """``orders.ports.OrdersUnitOfWork`` on PostgreSQL."""

    def __init__(self, conn: Connection, outbox: sa.Table) -> None:
        super().__init__(conn, outbox)
        self.orders = OrderRepository(conn, self)
        self.product_view = ProductViewRepository(conn, self)
