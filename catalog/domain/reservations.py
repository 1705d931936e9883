"""Reservations: an order's stock is taken for all its lines or for none."""

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
    """What one order took from stock, so it can be given back exactly once."""

    order_id: str
    lines: list[tuple[str, int]] = field(default_factory=list)
    status: ReservationStatus = ReservationStatus.RESERVED


def reserve(order_id: str, lines: Sequence[tuple[str, int]], products: Mapping[str, Product]) -> Reservation:
    """Take every line from ``products`` or raise ``InsufficientStock`` having taken nothing."""
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        wanted[sku] = wanted.get(sku, 0) + quantity
    for sku, quantity in sorted(wanted.items()):
        product = products.get(sku)
        if product is None or product.stock < quantity:
            raise InsufficientStock(sku, quantity, product.stock if product else 0)
    for sku, quantity in wanted.items():
        products[sku].take(quantity)
    return Reservation(order_id, sorted(wanted.items()))


def release(reservation: Reservation, products: Mapping[str, Product]) -> list[Product]:
    """Give a held reservation back to stock; returns the products that changed (none if already released)."""
    if reservation.status is ReservationStatus.RELEASED:
        return []
    changed = []
    for sku, quantity in reservation.lines:
        products[sku].give_back(quantity)
        changed.append(products[sku])
    reservation.status = ReservationStatus.RELEASED
    return changed
