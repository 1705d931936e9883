"""Catalog's composition root: the one place its adapters are chosen and wired."""

from __future__ import annotations

from catalog.adapters.tables import inbox, outbox
from catalog.adapters.unit_of_work import SqlCatalogUnitOfWork
from catalog.entrypoints.http import ProductsController, StockAdjustmentsController
from catalog.entrypoints.messages import ROUTES
from catalog.services import seed_catalog
from catalog.settings import CatalogSettings
from plumbing.wiring import ServiceParts, run_service

HTTP_API = [ProductsController, StockAdjustmentsController]


def main() -> None:
    """Run the catalog service (``python -m catalog``)."""
    run_service(
        ServiceParts(
            name="catalog",
            outbox=outbox,
            inbox=inbox,
            unit=SqlCatalogUnitOfWork,
            routes=ROUTES,
            http=HTTP_API,
            on_start=seed_catalog,
            settings=CatalogSettings.load_or_exit(),
        )
    )
