"""Reservations: an order's units are held for all its lines or for none, and given back at most once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from catalog.domain.products import InsufficientStock, Product


class ReservationStatus(StrEnum):
    """Where an order's reservation stands."""

    RESERVED = "RESERVED"
    RELEASED = "RELEASED"


@dataclass
class Reservation:
    """What one order holds, so it can be given back exactly once; held (``RESERVED``) until released."""

    order_id: str
    lines: list[tuple[str, int]] = field(default_factory=list)
    status: ReservationStatus = ReservationStatus.RESERVED


def reserve(order_id: str, lines: Sequence[tuple[str, int]], products: Mapping[str, Product]) -> Reservation:
    """Hold every line's units of ``products`` or raise ``InsufficientStock`` having held nothing."""
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        wanted[sku] = wanted.get(sku, 0) + quantity
    for sku, quantity in sorted(wanted.items()):
        product = products.get(sku)
        if product is None or product.available < quantity:
            raise InsufficientStock(sku, quantity, product.available if product else 0)
    for sku, quantity in wanted.items():
        products[sku].reserve(quantity)
    return Reservation(order_id, sorted(wanted.items()))


def release(reservation: Reservation, products: Mapping[str, Product]) -> list[Product]:
    """Make a held reservation's units available again; returns the products that changed (none if already released)."""
    if reservation.status is ReservationStatus.RELEASED:
        return []
    changed = []
    for sku, quantity in reservation.lines:
        products[sku].release(quantity)
        changed.append(products[sku])
    reservation.status = ReservationStatus.RELEASED
    return changed
