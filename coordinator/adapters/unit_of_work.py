"""The coordinator's unit of work: one transaction with its saga store bound to it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from coordinator.adapters.dispositions import DispositionStore
from coordinator.adapters.saga_store import SagaStore
from plumbing.unit_of_work import UnitOfWork


class SqlCoordinatorUnitOfWork(UnitOfWork):
    """``coordinator.ports.CoordinatorUnitOfWork`` on PostgreSQL."""

    def __init__(self, conn: Connection, outbox: sa.Table) -> None:
        super().__init__(conn, outbox)
        self.sagas = SagaStore(conn, self)
        self.dispositions = DispositionStore(conn)

    def run_by(self, instance: str | None) -> None:
        """Name the coordinator instance: in its messages' headers and in every timeline entry it records."""
        super().run_by(instance)
        self.sagas.instance = instance
