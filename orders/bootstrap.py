"""Orders' composition root: the one place its adapters are chosen and wired."""

from __future__ import annotations

import sqlalchemy as sa

from orders.adapters.repository import OrdersRepository
from orders.adapters.tables import inbox, outbox
from orders.app import OrdersController
from orders.handlers import ROUTES
from plumbing.wiring import run_service


def _ready(conn: sa.Connection) -> str | None:
    """Orders cannot price anything until its product view has been filled from the catalog's events."""
    return None if OrdersRepository(conn).product_count() > 0 else "product view is empty"


HTTP_API = [OrdersController]


def main() -> None:
    """Run the orders service (``python -m orders``)."""
    run_service("orders", (outbox, inbox), ROUTES, HTTP_API, ready=_ready)
