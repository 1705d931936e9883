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


class Retired(Message, frozen=True, kw_only=True):
    """An earlier version of a message type that is still decoded, then upgraded to the current version.

    A subclass keeps the old shape, names the current class's wire type (``tag="ReserveStock"``), sets
    ``schema_version`` to the old version and implements ``upgrade``. It is registered in
    ``contracts/retired.py``; handlers never see it, because the codec upgrades it on decoding.
    """

    def upgrade(self) -> Message:
        """This message as the current version of its type, or as the next retired version (the upcaster)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement upgrade()")


class Line(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an order: a product and how many of it."""

    sku: Sku
    quantity: Quantity


class PricedLine(msgspec.Struct, frozen=True, kw_only=True):
    """An order line with the unit price the order was placed at."""

    sku: Sku
    quantity: Quantity
    unit_price_cents: Cents


def wire_type(cls: type[Message]) -> str:
    """The wire type of a message class (its tag): its name, or the current class's name for a retired one.

    The one place the tag is read; everything else that needs a wire type asks here.
    """
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def message_type(message: Message) -> str:
    """The wire type of a message (its tag)."""
    return wire_type(type(message))


def union_types(union: object) -> list[str]:
    """The wire types of every member of a union of messages."""
    return [wire_type(member) for member in get_args(union)]
