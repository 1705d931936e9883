"""Coordinator's composition root: the one place its adapters are chosen and wired."""

from __future__ import annotations

from coordinator.adapters.tables import inbox, outbox
from coordinator.app import SagasController
from coordinator.dashboard import DashboardController
from coordinator.dead_letters_api import DeadLettersController
from coordinator.deadlines import DeadlineSweeper
from coordinator.handlers import ROUTES
from plumbing.runtime import Worker
from plumbing.unit_of_work import Transactions
from plumbing.wiring import run_service


def _sweeper(transactions: Transactions) -> list[Worker]:
    return [Worker("deadline-sweeper", DeadlineSweeper(transactions).run)]


HTTP_API = [SagasController, DeadLettersController, DashboardController]


def main() -> None:
    """Run the coordinator (``python -m coordinator``)."""
    run_service(
        "coordinator",
        (outbox, inbox),
        ROUTES,
        HTTP_API,
        extra_workers=_sweeper,
    )
