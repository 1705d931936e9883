"""Catalog's message handler, and the table that routes each message type to it."""

from __future__ import annotations

from typing import Any

from catalog import services
from catalog.ports import CatalogUnitOfWork
from contracts.envelope import Envelope
from contracts.topics import CATALOG_COMMANDS
from plumbing.routing import Batched, Routes, Scope


def apply_stock_commands(uow: CatalogUnitOfWork, commands: list[Envelope[Any]], scope: Scope) -> None:
    """Reserve or release stock for a batch's commands, their products locked together; reply to each
    (StockReserved or StockUnavailable, StockReleased)."""
    services.apply_stock_commands(uow, commands, scope)


STOCK_COMMANDS: Batched[CatalogUnitOfWork] = Batched(many=apply_stock_commands)

ROUTES: Routes[CatalogUnitOfWork] = {
    CATALOG_COMMANDS.name: {
        "ReserveStock": STOCK_COMMANDS,
        "ReleaseStock": STOCK_COMMANDS,
    },
}
