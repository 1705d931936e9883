"""The deadline sweeper's loop, against fakes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
import sqlalchemy as sa

from contracts.catalog import ReserveStock
from coordinator import services
from coordinator.entrypoints.deadlines import DeadlineSweeper
from tests.samples import placed
from tests.unit.coordinator.fakes import FakeCoordinatorUnitOfWork, coordinator
from tests.unit.fakes import FakeUnitsOfWork


class StopAfter:
    """Units of work that stop the sweeper after ``sweeps`` transactions, or fail each with ``error``."""

    def __init__(
        self, units: FakeUnitsOfWork[FakeCoordinatorUnitOfWork], stop: threading.Event, sweeps: int = 1
    ) -> None:
        self.units, self.stop, self.sweeps = units, stop, sweeps
        self.error: Exception | None = None

    @contextmanager
    def begin(self) -> Iterator[FakeCoordinatorUnitOfWork]:
        self.sweeps -= 1
        if self.sweeps == 0:
            self.stop.set()
        if self.error is not None:
            raise self.error
        with self.units.begin() as uow:
            yield uow

    def read(self) -> AbstractContextManager[FakeCoordinatorUnitOfWork]:
        return self.units.read()


def test_the_sweeper_re_sends_overdue_commands_until_stopped() -> None:
    units, stop = coordinator(), threading.Event()
    saga = services.start_saga(units.uow, placed("o1"))
    assert saga is not None
    units.uow.sagas.overdue(saga.saga_id)

    DeadlineSweeper(StopAfter(units, stop, sweeps=2), interval_s=0).run(stop)

    assert [type(e.payload) for e in units.uow.commands()] == [ReserveStock, ReserveStock]
    assert units.committed == 2


def test_the_sweeper_rides_out_a_database_outage_but_not_a_bug() -> None:
    units, stop = coordinator(), threading.Event()
    outage = StopAfter(units, stop, sweeps=2)
    outage.error = sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
    DeadlineSweeper(outage, interval_s=0).run(stop)  # returns once stopped

    stop.clear()
    broken = StopAfter(units, stop, sweeps=5)
    broken.error = sa.exc.ProgrammingError("SELECT nope", {}, Exception("syntax error"))
    with pytest.raises(sa.exc.ProgrammingError):
        DeadlineSweeper(broken, interval_s=0).run(stop)
    assert units.committed == 0
