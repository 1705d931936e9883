"""Messages owned by the catalog service: its commands, its replies and its product events."""

from __future__ import annotations

from contracts.base import Cents, Lines, Message, OrderId, Platform, Reason, Revision, Sku, Title, Units, Year


class ReserveStock(Message, frozen=True, kw_only=True):
    """Reserve every line of an order, or none of them."""

    schema_version = 2
    order_id: OrderId
    lines: Lines


class ReleaseStock(Message, frozen=True, kw_only=True):
    """Compensation: give back what ``ReserveStock`` took for this order (a no-op if nothing was)."""

    schema_version = 2
    order_id: OrderId


class StockReserved(Message, frozen=True, kw_only=True):
    """Every line of the order is reserved."""

    schema_version = 2
    order_id: OrderId


class StockUnavailable(Message, frozen=True, kw_only=True):
    """Nothing was reserved: at least one line could not be met."""

    schema_version = 2
    order_id: OrderId
    reason: Reason
    sku: Sku


class StockReleased(Message, frozen=True, kw_only=True):
    """The order's reservation (if any) has been given back."""

    schema_version = 2
    order_id: OrderId


class ProductChanged(Message, frozen=True, kw_only=True):
    """The current state of one product; ``revision`` grows with every change."""

    schema_version = 2
    sku: Sku
    title: Title
    platform: Platform
    release_year: Year
    price_cents: Cents
    stock: Units
    revision: Revision


CatalogCommand = ReserveStock | ReleaseStock
CatalogReply = StockReserved | StockUnavailable | StockReleased
