"""Retired versions of catalog's messages (v1 of each: upgraded field by field to v2)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Cents, Retired
from contracts.catalog import (
    ProductChanged,
    ReleaseStock,
    ReserveStock,
    StockReleased,
    StockReserved,
    StockUnavailable,
)
from contracts.retired.base import LinesV1, ReasonV1, SkuV1, upgraded


class ReserveStockV1(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
    """Reserve every line of an order, or none of them."""

    schema_version = 1
    order_id: str
    lines: LinesV1

    def upgrade(self) -> ReserveStock:
        return upgraded(self, ReserveStock)


class ReleaseStockV1(Retired, frozen=True, kw_only=True, tag="ReleaseStock"):
    """Compensation: give back what ``ReserveStock`` took for this order (a no-op if nothing was)."""

    schema_version = 1
    order_id: str

    def upgrade(self) -> ReleaseStock:
        return upgraded(self, ReleaseStock)


class StockReservedV1(Retired, frozen=True, kw_only=True, tag="StockReserved"):
    """Every line of the order is reserved."""

    schema_version = 1
    order_id: str

    def upgrade(self) -> StockReserved:
        return upgraded(self, StockReserved)


class StockUnavailableV1(Retired, frozen=True, kw_only=True, tag="StockUnavailable"):
    """Nothing was reserved: at least one line could not be met."""

    schema_version = 1
    order_id: str
    reason: ReasonV1
    sku: SkuV1

    def upgrade(self) -> StockUnavailable:
        return upgraded(self, StockUnavailable)


class StockReleasedV1(Retired, frozen=True, kw_only=True, tag="StockReleased"):
    """The order's reservation (if any) has been given back."""

    schema_version = 1
    order_id: str

    def upgrade(self) -> StockReleased:
        return upgraded(self, StockReleased)


class ProductChangedV1(Retired, frozen=True, kw_only=True, tag="ProductChanged"):
    """The current state of one product; ``revision`` grows with every change."""

    schema_version = 1
    sku: SkuV1
    title: str
    platform: str
    release_year: int
    price_cents: Cents
    stock: Annotated[int, msgspec.Meta(ge=0)]
    revision: Annotated[int, msgspec.Meta(ge=1)]

    def upgrade(self) -> ProductChanged:
        return upgraded(self, ProductChanged)
