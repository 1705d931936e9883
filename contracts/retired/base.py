"""What the retired versions share: the constrained types and nested Structs of v1 as released, and ``upgraded``."""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec

from contracts.base import Cents, Message, Quantity, Retired

_M = TypeVar("_M", bound=Message)

SkuV1 = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
CurrencyV1 = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{3}$")]
ReasonV1 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Up255V1 = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
"""v1's payment method and idempotency key."""


class LineV1(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an order: a product and how many of it."""

    sku: SkuV1
    quantity: Quantity


class PricedLineV1(msgspec.Struct, frozen=True, kw_only=True):
    """An order line with the unit price the order was placed at."""

    sku: SkuV1
    quantity: Quantity
    unit_price_cents: Cents


LinesV1 = Annotated[list[LineV1], msgspec.Meta(min_length=1, max_length=50)]
PricedLinesV1 = Annotated[list[PricedLineV1], msgspec.Meta(min_length=1, max_length=50)]


def upgraded(message: Retired, current: type[_M]) -> _M:
    """``message`` as a ``current``, field by field (nested Structs too), checked against ``current``'s constraints.

    The upcaster of a bump that kept the fields and narrowed them; raises ``msgspec.ValidationError`` for a value
    the new version refuses (``msgspec.convert`` validates, where a Struct's constructor would not).
    """
    return msgspec.convert(msgspec.to_builtins(message), current)
