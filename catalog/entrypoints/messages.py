"""Catalog's message handlers, and the table that routes each message type to one."""

from __future__ import annotations

from catalog import services
from catalog.ports import CatalogUnitOfWork
from contracts.catalog import ReleaseStock, ReserveStock
from contracts.envelope import Envelope
from contracts.topics import CATALOG_COMMANDS
from plumbing.routing import Routes


def reserve_stock(uow: CatalogUnitOfWork, command: Envelope[ReserveStock]) -> None:
    """Reserve the order's lines; reply StockReserved or StockUnavailable."""
    uow.reply(command, services.reserve_stock(uow, command.payload, command.saga_id))


def release_stock(uow: CatalogUnitOfWork, command: Envelope[ReleaseStock]) -> None:
    """Give the order's reservation back; reply StockReleased."""
    uow.reply(command, services.release_stock(uow, command.payload, command.saga_id))


ROUTES: Routes[CatalogUnitOfWork] = {
    CATALOG_COMMANDS.name: {
        "ReserveStock": reserve_stock,
        "ReleaseStock": release_stock,
    },
}
