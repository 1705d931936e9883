"""The coordinator's composition root: the one place its adapters are chosen and wired."""

from __future__ import annotations

from coordinator.adapters.tables import inbox, outbox
from coordinator.adapters.unit_of_work import SqlCoordinatorUnitOfWork
from coordinator.entrypoints.dashboard import TEMPLATES, DashboardController
from coordinator.entrypoints.dashboard_letters import DeadLettersDashboardController
from coordinator.entrypoints.dashboard_outbox import OutboxDashboardController
from coordinator.entrypoints.dashboard_replay import SagaReplayController
from coordinator.entrypoints.dashboard_stock import StockDashboardController
from coordinator.entrypoints.dead_letters import DeadLettersController
from coordinator.entrypoints.deadlines import DeadlineSweeper
from coordinator.entrypoints.http import SagasController
from coordinator.entrypoints.messages import ROUTES
from coordinator.settings import CoordinatorSettings
from plumbing.runtime import Worker
from plumbing.unit_of_work import Transactions
from plumbing.wiring import ServiceParts, run_service

HTTP_API = [
    SagasController,
    DeadLettersController,
    DashboardController,
    OutboxDashboardController,
    SagaReplayController,
    DeadLettersDashboardController,
    StockDashboardController,
]


def _sweeper(transactions: Transactions[SqlCoordinatorUnitOfWork]) -> list[Worker]:
    return [Worker("deadline-sweeper", DeadlineSweeper(transactions).run)]


def main() -> None:
    """Run the coordinator (``python -m coordinator``)."""
    run_service(
        ServiceParts(
            name="coordinator",
            outbox=outbox,
            inbox=inbox,
            unit=SqlCoordinatorUnitOfWork,
            routes=ROUTES,
            http=HTTP_API,
            workers=_sweeper,
            templates=TEMPLATES,
            settings=CoordinatorSettings.load_or_exit(),
        )
    )
