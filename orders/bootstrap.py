"""Orders' composition root: the one place its adapters are chosen and wired."""

from __future__ import annotations

from orders.adapters.tables import inbox, outbox
from orders.adapters.unit_of_work import SqlOrdersUnitOfWork
from orders.entrypoints.http import OrdersController
from orders.entrypoints.messages import ROUTES
from orders.services import ready
from orders.settings import OrdersSettings
from plumbing.wiring import ServiceParts, run_service

HTTP_API = [OrdersController]


def main() -> None:
    """Run the orders service (``python -m orders``)."""
    run_service(
        ServiceParts(
            name="orders",
            outbox=outbox,
            inbox=inbox,
            unit=SqlOrdersUnitOfWork,
            routes=ROUTES,
            http=HTTP_API,
            ready=ready,
            settings=OrdersSettings.load_or_exit(),
        )
    )
