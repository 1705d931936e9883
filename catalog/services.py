"""Catalog's use cases. A use case called from a message runs in the consumer's batch transaction;
one called over HTTP opens its own unit of work here."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from catalog.domain.adjustments import StockAdjustment
from catalog.domain.products import InsufficientStock, Product
from catalog.domain.reservations import Reservation, ReservationStatus, release, reserve
from catalog.domain.seed import seed_products
from catalog.ports import CatalogUnitOfWork
from contracts.catalog import (
    ProductChanged,
    ReleaseStock,
    ReserveStock,
    StockReleased,
    StockReserved,
    StockUnavailable,
)
from contracts.envelope import wrap
from contracts.topics import PRODUCT_EVENTS
from plumbing.errors import NotFound
from plumbing.unit_of_work import UnitsOfWork


class UnknownSku(NotFound):
    """No product has this sku."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"no product with sku {sku!r}")


def reserve_stock(
    uow: CatalogUnitOfWork, command: ReserveStock, saga_id: uuid.UUID | None
) -> StockReserved | StockUnavailable:
    """Reserve all lines of the order or none; a repeat answers as the first time did."""
    order_id = command.order_id
    existing = uow.reservations.lock(order_id)
    if existing is not None:  # already decided (or released by a compensation that overtook us)
        if existing.status is ReservationStatus.RESERVED:
            return StockReserved(order_id=order_id)
        sku = existing.lines[0][0] if existing.lines else command.lines[0].sku
        return StockUnavailable(order_id=order_id, sku=sku, reason="order was cancelled")
    lines = [(line.sku, line.quantity) for line in command.lines]
    products = uow.products.lock(sku for sku, _ in lines)
    try:
        reservation = reserve(order_id, lines, products)
    except InsufficientStock as shortage:
        return StockUnavailable(order_id=order_id, sku=shortage.sku, reason=str(shortage))
    changed = [products[sku] for sku, _ in reservation.lines]
    uow.products.save_stock(changed)
    uow.reservations.save(reservation, saga_id)
    _announce(uow, changed)
    return StockReserved(order_id=order_id)


def release_stock(uow: CatalogUnitOfWork, command: ReleaseStock, saga_id: uuid.UUID | None) -> StockReleased:
    """Give the order's reservation back (once); a release without a reservation blocks a late one."""
    order_id = command.order_id
    reservation = uow.reservations.lock(order_id)
    if reservation is None:
        reservation = Reservation(order_id, [], ReservationStatus.RELEASED)
    else:
        products = uow.products.lock(sku for sku, _ in reservation.lines)
        changed = release(reservation, products)
        uow.products.save_stock(changed)
        _announce(uow, changed)
    uow.reservations.save(reservation, saga_id)
    return StockReleased(order_id=order_id)


def adjust_stock(units: UnitsOfWork[CatalogUnitOfWork], sku: str, delta: int, reason: str) -> Product:
    """Add (or take away) units on hand, record why and announce the change.

    ``StockChangeRefused`` if it would take reserved units; ``UnknownSku`` if there is no such product.
    """
    return _change_on_hand(units, sku, lambda product: product.adjust(delta, reason))


def set_available(units: UnitsOfWork[CatalogUnitOfWork], sku: str, available: int, revision: int) -> Product:
    """Count a product: make ``available`` units orderable on top of the reserved ones, record it, announce it.

    ``StaleRevision`` unless the caller read the product at its current ``revision``; ``StockChangeRefused``
    past the limit of units on hand; ``UnknownSku`` if there is no such product.
    """
    return _change_on_hand(units, sku, lambda product: product.set_available(available, revision))


def _change_on_hand(
    units: UnitsOfWork[CatalogUnitOfWork], sku: str, change: Callable[[Product], StockAdjustment]
) -> Product:
    """Apply an operator's change to the locked product, record it and announce the new figures."""
    with units.begin() as uow:
        product = uow.products.lock([sku]).get(sku)
        if product is None:
            raise UnknownSku(sku)
        uow.adjustments.add(change(product))
        uow.products.save_stock([product])
        _announce(uow, [product])
    return product


def stock_adjustments(units: UnitsOfWork[CatalogUnitOfWork], sku: str | None, limit: int) -> list[StockAdjustment]:
    """The ``limit`` most recent stock adjustments, newest first: of one product, or of all when ``sku`` is None."""
    with units.read() as uow:
        return uow.adjustments.latest(sku, limit)


def list_products(units: UnitsOfWork[CatalogUnitOfWork]) -> list[Product]:
    """Every product with its stock figures."""
    with units.read() as uow:
        return uow.products.all()


def get_product(units: UnitsOfWork[CatalogUnitOfWork], sku: str) -> Product:
    """One product; ``UnknownSku`` if there is none."""
    with units.read() as uow:
        product = uow.products.get(sku)
    if product is None:
        raise UnknownSku(sku)
    return product


def seed_catalog(uow: CatalogUnitOfWork) -> None:
    """Add the opening catalogue's missing products and announce every product's current state.

    Announcing all of them at each start keeps the compacted topic complete even if Kafka was reset.
    """
    uow.products.add_missing(seed_products())
    _announce(uow, uow.products.all())


def _announce(uow: CatalogUnitOfWork, changed: Iterable[Product]) -> None:
    """Publish the new state of each changed product on the compacted product topic (``stock``: units available)."""
    for p in changed:
        event = ProductChanged(
            sku=p.sku,
            title=p.title,
            platform=p.platform,
            release_year=p.release_year,
            price_cents=p.price_cents,
            stock=p.available,
            revision=p.revision,
        )
        uow.publish(PRODUCT_EVENTS, wrap(event, correlation_id=p.sku), key=p.sku)
