"""The deadline sweep: a worker that acts on sagas whose awaited reply is overdue."""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from coordinator import services
from coordinator.ports import CoordinatorUnitOfWork
from plumbing.db import is_transient
from plumbing.unit_of_work import UnitsOfWork

log = logging.getLogger(__name__)


class DeadlineSweeper:
    """Every ``interval_s``, re-sends or gives up on overdue steps (see ``engine.on_deadline``)."""

    def __init__(self, units: UnitsOfWork[CoordinatorUnitOfWork], interval_s: float = 1.0) -> None:
        self._units = units
        self._interval_s = interval_s

    def run(self, stop: threading.Event) -> None:
        """Sweep until ``stop`` is set."""
        while not stop.wait(self._interval_s):
            try:
                handled = services.act_on_deadlines(self._units)
                if handled:
                    log.info("deadline sweep handled %d overdue sagas", handled)
            except sa.exc.SQLAlchemyError as error:
                if not is_transient(error):
                    raise
                log.warning("deadline sweep: database unavailable (%s)", error)
