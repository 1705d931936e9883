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


def message_type(message: Message) -> str:
    """The wire type of a message (its tag)."""
    tag = type(message).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def wire_type(cls: type[Message]) -> str:
    """The wire type of a message class (its tag): its name, or the current class's name for a retired one."""
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def union_types(union: object) -> list[str]:
    """The wire types of every member of a union of messages."""
    return [str(member.__struct_config__.tag) for member in get_args(union)]


def all_message_types() -> list[type[Message]]:
    """Every concrete message type defined in the ``contracts`` package, sorted by wire type.

    Only current versions: retired ones (``Retired`` and its subclasses) share their wire type and are left out.
    Imports ``contracts.codecs`` first, which pulls in every module that defines messages carried on a topic.
    """
    import contracts.codecs  # noqa: F401

    found: dict[str, type[Message]] = {}
    pending: list[type[Message]] = list(Message.__subclasses__())
    while pending:
        cls = pending.pop()
        if issubclass(cls, Retired):
            continue
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] != "contracts":
            continue  # e.g. a modified copy built by a test
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str)
        if tag in found and found[tag] is not cls:
            raise TypeError(f"two message types share the wire type {tag!r}: {found[tag]} and {cls}")
        found[tag] = cls
    return [found[tag] for tag in sorted(found)]
