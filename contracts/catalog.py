"""Messages owned by the catalog service: its commands, its replies and its product events."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Cents, Line, Message, Reason, Sku

Lines = Annotated[list[Line], msgspec.Meta(min_length=1, max_length=50)]


class ReserveStock(Message, frozen=True, kw_only=True):
    """Reserve every line of an order, or none of them."""

    order_id: str
    lines: Lines


class ReleaseStock(Message, frozen=True, kw_only=True):
    """Compensation: give back what ``ReserveStock`` took for this order (a no-op if nothing was)."""

    order_id: str


class StockReserved(Message, frozen=True, kw_only=True):
    """Every line of the order is reserved."""

    order_id: str


class StockUnavailable(Message, frozen=True, kw_only=True):
    """Nothing was reserved: at least one line could not be met."""

    order_id: str
    reason: Reason
    sku: Sku


class StockReleased(Message, frozen=True, kw_only=True):
    """The order's reservation (if any) has been given back."""

    order_id: str


class ProductChanged(Message, frozen=True, kw_only=True):
    """The current state of one product; ``revision`` grows with every change."""

    sku: Sku
    title: str
    platform: str
    release_year: int
    price_cents: Cents
    stock: Annotated[int, msgspec.Meta(ge=0)]
    revision: Annotated[int, msgspec.Meta(ge=1)]


CatalogCommand = ReserveStock | ReleaseStock
CatalogReply = StockReserved | StockUnavailable | StockReleased
