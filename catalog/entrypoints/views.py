"""What catalog's HTTP API reads and answers: request bodies and the views of products and adjustments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, get_args

import msgspec
from litestar.params import PathParameter, QueryParameter

from catalog.domain.adjustments import StockAdjustment
from catalog.domain.products import Product
from contracts.base import Sku

_SKU: msgspec.Meta = get_args(Sku)[1]
_AS_MESSAGES_TAKE_IT = {"min_length": _SKU.min_length, "max_length": _SKU.max_length, "pattern": _SKU.pattern}
SkuPath = Annotated[str, PathParameter(**_AS_MESSAGES_TAKE_IT)]
"""A product's sku in a path, as messages accept one (so a NUL or an overlong one is a 400 naming ``sku``)."""
SkuFilter = Annotated[str | None, QueryParameter(description="Only this product's.", **_AS_MESSAGES_TAKE_IT)]
"""A query parameter naming one product, as messages accept a sku."""

MAX_DELTA = 1_000_000

Reason = Annotated[
    str,
    # At least one character other than ASCII whitespace, and no NUL (PostgreSQL text cannot hold one). The class is
    # spelled out because ``\s`` differs between Python's re (which counts e.g. U+001D) and ECMA regexes (which read
    # the published schema). Linear: no nested repeats.
    msgspec.Meta(min_length=1, max_length=200, pattern=r"^[\t\n\v\f\r ]*[^\t\n\v\f\r \x00][^\x00]*$"),
]


class StockLevel(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /products/{sku}/stock`` body: the units available to order, counted on the shelf."""

    stock: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class StockAdjustmentBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /products/{sku}/stock-adjustments`` body: units added on hand (taken away if negative), and why."""

    delta: Annotated[
        int,
        msgspec.Meta(ge=-MAX_DELTA, le=MAX_DELTA, extra_json_schema={"extra": {"not": {"const": 0}}}),
    ]
    reason: Reason


class ProductView(msgspec.Struct, frozen=True):
    """A product as the API shows it: ``stock`` is ``available`` (units that can be ordered), as it always was."""

    sku: str
    title: str
    platform: str
    release_year: int
    price_cents: int
    stock: int
    revision: int
    on_hand: int
    reserved: int
    available: int


class StockAdjustmentView(msgspec.Struct, frozen=True):
    """One recorded change to a product's units on hand."""

    sku: str
    delta: int
    reason: str
    on_hand_after: int
    at: datetime
    adjusted_by: str | None = None
    """Who made it: the gateway's authenticated subject, a tool's user (``cli:<user>``) or ``direct``; null for
    adjustments recorded before this was."""


def product_view(p: Product) -> ProductView:
    """The API's view of ``p``."""
    return ProductView(
        sku=p.sku,
        title=p.title,
        platform=p.platform,
        release_year=p.release_year,
        price_cents=p.price_cents,
        stock=p.available,
        revision=p.revision,
        on_hand=p.on_hand,
        reserved=p.reserved,
        available=p.available,
    )


def adjustment_view(a: StockAdjustment) -> StockAdjustmentView:
    """The API's view of a recorded adjustment."""
    assert a.at is not None, "a recorded adjustment has its time"
    return StockAdjustmentView(a.sku, a.delta, a.reason, a.on_hand_after, a.at, a.adjusted_by)
