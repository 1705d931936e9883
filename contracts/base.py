"""The base of every message and the constrained types messages share."""

from __future__ import annotations

from typing import Annotated, ClassVar, get_args

import msgspec

Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=100)]
Cents = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{3}$")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    """A command, reply or event. Its class name is its wire type (the ``type`` field).

    ``schema_version`` is bumped on a breaking change; see docs/contracts.md.
    """

    schema_version: ClassVar[int] = 1


class Line(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an order: a product and how many of it."""

    sku: Sku
    quantity: Quantity


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    """An order line with the unit price the order was placed at."""

    sku: Sku
    quantity: Quantity
    unit_price_cents: Cents


def message_type(message: Message) -> str:
    """The wire type of a message (its tag)."""
    tag = type(message).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def union_types(union: object) -> list[str]:
    """The wire types of every member of a union of messages."""
    return [str(member.__struct_config__.tag) for member in get_args(union)]
