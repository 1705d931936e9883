"""Catalog's message handlers, and the table that routes each message type to one."""

from __future__ import annotations

from collections.abc import Iterable

from catalog.adapters.repository import CatalogRepository
from catalog.domain.products import InsufficientStock, Product
from catalog.domain.reservations import Reservation, ReservationStatus, release, reserve
from catalog.domain.seed import seed_products
from contracts.catalog import (
    ProductChanged,
    ReleaseStock,
    ReserveStock,
    StockReleased,
    StockReserved,
    StockUnavailable,
)
from contracts.envelope import Envelope, wrap
from contracts.topics import CATALOG_COMMANDS, PRODUCT_EVENTS
from plumbing.consumer import Routes
from plumbing.unit_of_work import UnitOfWork


def publish_products(uow: UnitOfWork, changed: Iterable[Product]) -> None:
    """Announce the new state of each changed product on the compacted product topic."""
    for p in changed:
        event = ProductChanged(
            sku=p.sku,
            title=p.title,
            platform=p.platform,
            release_year=p.release_year,
            price_cents=p.price_cents,
            stock=p.stock,
            revision=p.revision,
        )
        uow.publish(PRODUCT_EVENTS, wrap(event, correlation_id=p.sku), key=p.sku)


def reserve_stock(uow: UnitOfWork, command: Envelope[ReserveStock]) -> None:
    """Reserve all lines of the order or none; reply StockReserved or StockUnavailable."""
    order_id = command.payload.order_id
    repo = CatalogRepository(uow.conn)
    existing = repo.reservation(order_id)
    if existing is not None:  # already decided (or released by a compensation that overtook us)
        if existing.status is ReservationStatus.RESERVED:
            uow.reply(command, StockReserved(order_id=order_id))
        else:
            sku = existing.lines[0][0] if existing.lines else command.payload.lines[0].sku
            uow.reply(command, StockUnavailable(order_id=order_id, sku=sku, reason="order was cancelled"))
        return
    lines = [(line.sku, line.quantity) for line in command.payload.lines]
    products = repo.lock_products(sku for sku, _ in lines)
    try:
        reservation = reserve(order_id, lines, products)
    except InsufficientStock as shortage:
        uow.reply(command, StockUnavailable(order_id=order_id, sku=shortage.sku, reason=str(shortage)))
        return
    changed = [products[sku] for sku, _ in reservation.lines]
    repo.save_stock(changed)
    repo.save_reservation(reservation, command.saga_id)
    publish_products(uow, changed)
    uow.reply(command, StockReserved(order_id=order_id))


def release_stock(uow: UnitOfWork, command: Envelope[ReleaseStock]) -> None:
    """Give the order's reservation back (once); a release without a reservation blocks a late one."""
    order_id = command.payload.order_id
    repo = CatalogRepository(uow.conn)
    reservation = repo.reservation(order_id)
    if reservation is None:
        reservation = Reservation(order_id, [], ReservationStatus.RELEASED)
    else:
        products = repo.lock_products(sku for sku, _ in reservation.lines)
        changed = release(reservation, products)
        repo.save_stock(changed)
        publish_products(uow, changed)
    repo.save_reservation(reservation, command.saga_id)
    uow.reply(command, StockReleased(order_id=order_id))


def seed_catalog(uow: UnitOfWork) -> None:
    """Add the opening catalogue's missing products and announce every product's current state.

    Announcing all of them at each start keeps the compacted topic complete even if Kafka was reset.
    """
    repo = CatalogRepository(uow.conn)
    repo.add_missing(seed_products())
    publish_products(uow, repo.all_products())


ROUTES: Routes = {
    CATALOG_COMMANDS.name: {
        "ReserveStock": reserve_stock,
        "ReleaseStock": release_stock,
    },
}
