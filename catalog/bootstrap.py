"""Catalog's composition root: the one place its adapters are chosen and wired."""

from __future__ import annotations

from catalog.adapters.tables import inbox, outbox
from catalog.app import ProductsController
from catalog.handlers import ROUTES, seed_catalog
from plumbing.wiring import run_service

HTTP_API = [ProductsController]


def main() -> None:
    """Run the catalog service (``python -m catalog``)."""
    run_service("catalog", (outbox, inbox), ROUTES, HTTP_API, on_start=seed_catalog)
