"""Catalog's use cases. A use case called from a message runs in the consumer's batch transaction;
one called over HTTP opens its own unit of work here."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any

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
from contracts.envelope import Envelope, wrap
from contracts.topics import PRODUCT_EVENTS
from plumbing.errors import NotFound
from plumbing.unit_of_work import UnitsOfWork


class UnknownSku(NotFound):
    """No product has this sku."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"no product with sku {sku!r}")


StockCommand = ReserveStock | ReleaseStock
StockReply = StockReserved | StockUnavailable | StockReleased
Scope = Callable[[Envelope[Any]], AbstractContextManager[None]]
"""Enters one command's span and log context (``plumbing.routing.Scope``)."""


@dataclass
class _Held:
    """What a batch of stock commands works on: every reservation and product they touch, locked up front."""

    reservations: dict[str, Reservation]
    products: dict[str, Product]
    changed: dict[str, Product] = field(default_factory=dict)
    saved: dict[str, tuple[Reservation, uuid.UUID | None]] = field(default_factory=dict)
    """The reservations to write, by order id: the latest state, with the saga that first wrote it."""


def apply_stock_commands(uow: CatalogUnitOfWork, commands: list[Envelope[Any]], scope: Scope) -> None:
    """Apply a batch's ``ReserveStock`` and ``ReleaseStock`` commands in order and reply to each, in its scope.

    Every row the batch needs is locked before any command is applied, in one order all writers share:
    the reservations by order id, then the products by sku (one ``SELECT ... FOR UPDATE ORDER BY sku``).
    Locking message after message instead would let two instances deadlock (one holds X and waits for Y,
    the other the reverse). Commands see the effect of the ones before them; the changed products and the
    reservations are written at the end, one statement each, and each changed product is announced once, in
    its latest state (the product topic is compacted: only a product's last state matters). A single command
    is a batch of one.
    """
    held = _lock(uow, [command.payload for command in commands])
    for command in commands:
        with scope(command):
            uow.reply(command, _apply(held, command.payload, command.saga_id))
    _write(uow, held)


def reserve_stock(
    uow: CatalogUnitOfWork, command: ReserveStock, saga_id: uuid.UUID | None
) -> StockReserved | StockUnavailable:
    """Reserve all lines of the order or none; a repeat answers as the first time did."""
    held = _lock(uow, [command])
    reply = _reserve(held, command, saga_id)
    _write(uow, held)
    return reply


def release_stock(uow: CatalogUnitOfWork, command: ReleaseStock, saga_id: uuid.UUID | None) -> StockReleased:
    """Give the order's reservation back (once); a release without a reservation blocks a late one."""
    held = _lock(uow, [command])
    reply = _release(held, command, saga_id)
    _write(uow, held)
    return reply


def _lock(uow: CatalogUnitOfWork, commands: list[StockCommand]) -> _Held:
    """Lock the commands' reservations (by order id), then every product they may change (by sku)."""
    reservations = uow.reservations.lock_many(command.order_id for command in commands)
    skus = {line.sku for command in commands if isinstance(command, ReserveStock) for line in command.lines}
    skus.update(sku for reservation in reservations.values() for sku, _ in reservation.lines)
    return _Held(reservations, uow.products.lock(skus))


def _write(uow: CatalogUnitOfWork, held: _Held) -> None:
    """Write what the commands changed and announce each changed product's latest state."""
    uow.products.save_stock(held.changed.values())
    uow.reservations.save_many(held.saved.values())
    _announce(uow, held.changed.values())


def _apply(held: _Held, command: StockCommand, saga_id: uuid.UUID | None) -> StockReply:
    if isinstance(command, ReserveStock):
        return _reserve(held, command, saga_id)
    return _release(held, command, saga_id)


def _reserve(held: _Held, command: ReserveStock, saga_id: uuid.UUID | None) -> StockReserved | StockUnavailable:
    order_id = command.order_id
    existing = held.reservations.get(order_id)
    if existing is not None:  # already decided (or released by a compensation that overtook us)
        if existing.status is ReservationStatus.RESERVED:
            return StockReserved(order_id=order_id)
        sku = existing.lines[0][0] if existing.lines else command.lines[0].sku
        return StockUnavailable(order_id=order_id, sku=sku, reason="order was cancelled")
    try:
        reservation = reserve(order_id, [(line.sku, line.quantity) for line in command.lines], held.products)
    except InsufficientStock as shortage:
        return StockUnavailable(order_id=order_id, sku=shortage.sku, reason=str(shortage))
    held.changed.update((sku, held.products[sku]) for sku, _ in reservation.lines)
    _keep(held, reservation, saga_id)
    return StockReserved(order_id=order_id)


def _release(held: _Held, command: ReleaseStock, saga_id: uuid.UUID | None) -> StockReleased:
    reservation = held.reservations.get(command.order_id)
    if reservation is None:
        reservation = Reservation(command.order_id, [], ReservationStatus.RELEASED)
    else:
        held.changed.update((product.sku, product) for product in release(reservation, held.products))
    _keep(held, reservation, saga_id)
    return StockReleased(order_id=command.order_id)


def _keep(held: _Held, reservation: Reservation, saga_id: uuid.UUID | None) -> None:
    """Remember a reservation to write at the end; later commands of the batch see it. A row written once
    keeps the saga id it was first written with (as a second write of the same row would)."""
    held.reservations[reservation.order_id] = reservation
    first = held.saved.get(reservation.order_id)
    held.saved[reservation.order_id] = (reservation, saga_id if first is None else first[1])


def adjust_stock(
    units: UnitsOfWork[CatalogUnitOfWork], sku: str, delta: int, reason: str, *, by: str | None = None
) -> Product:
    """Add (or take away) units on hand, record why and who made the change (``by``) and announce it.

    ``StockChangeRefused`` if it would take reserved units; ``UnknownSku`` if there is no such product.
    """
    return _change_on_hand(units, sku, lambda product: product.adjust(delta, reason), by)


def set_available(
    units: UnitsOfWork[CatalogUnitOfWork], sku: str, available: int, revision: int, *, by: str | None = None
) -> Product:
    """Count a product: make ``available`` units orderable on top of the reserved ones, record it (and who
    counted, ``by``), announce it.

    ``StaleRevision`` unless the caller read the product at its current ``revision``; ``StockChangeRefused``
    past the limit of units on hand; ``UnknownSku`` if there is no such product.
    """
    return _change_on_hand(units, sku, lambda product: product.set_available(available, revision), by)


def _change_on_hand(
    units: UnitsOfWork[CatalogUnitOfWork], sku: str, change: Callable[[Product], StockAdjustment], by: str | None
) -> Product:
    """Apply an operator's change to the locked product, record it (made ``by`` whom) and announce the new
    figures."""
    with units.begin() as uow:
        product = uow.products.lock([sku]).get(sku)
        if product is None:
            raise UnknownSku(sku)
        uow.adjustments.add(replace(change(product), adjusted_by=by))
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
