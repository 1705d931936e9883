"""Catalog's unit of work: one transaction with its repositories bound to it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.adapters.adjustments import StockAdjustmentRepository
from catalog.adapters.repositories import ProductRepository, ReservationRepository
from plumbing.unit_of_work import UnitOfWork


class SqlCatalogUnitOfWork(UnitOfWork):
    """``catalog.ports.CatalogUnitOfWork`` on PostgreSQL."""

    def __init__(self, conn: Connection, outbox: sa.Table) -> None:
        super().__init__(conn, outbox)
        self.products = ProductRepository(conn, self)
        self.reservations = ReservationRepository(conn, self)
        self.adjustments = StockAdjustmentRepository(conn)
