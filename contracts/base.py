"""The base of every message and the constrained types messages share.

Every string and every collection in a message is bounded (``tests/contracts/test_bounds.py`` checks it), with
limits that match what the services accept over HTTP and what they store; each idea has one named type here.
A text type also refuses NUL: PostgreSQL rejects it in ``text`` and ``jsonb``, so a stored NUL would fail for
ever, and the decoder turns it away first (the consumer dead-letters the message, naming the field).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, get_args

import msgspec
import msgspec.inspect

END = r"$(?!\n)"
"""The end of the string, alike in both dialects that read these patterns. msgspec applies a pattern with Python's
``re.search``, where ``$`` also matches before a final newline (``"NES-SMB3\\n"`` would pass); JSON Schema uses
ECMA-262, which has no ``\\Z``. ``(?!\\n)`` rules the final newline out in Python and changes nothing in ECMA-262."""

NUL_FREE = r"^[^\x00]*$"
"""Any text without NUL. (A plain ``$`` is exact here: ``[^\\x00]*`` takes a final newline as well.)"""


def text(max_length: int, *, pattern: str = NUL_FREE, min_length: int = 1) -> msgspec.Meta:
    """The constraints of a bounded string: ``min_length`` to ``max_length`` characters matching ``pattern``."""
    return msgspec.Meta(min_length=min_length, max_length=max_length, pattern=pattern)


OrderId = Annotated[str, text(64)]
"""An order's id (orders makes UUID strings: 64 leaves room)."""
CustomerId = Annotated[str, text(64)]
"""Who placed an order, as orders' HTTP API accepts it."""
CorrelationId = Annotated[str, text(64)]
"""What a message's flow is about: its order's id (a product event's: its sku)."""
PaymentMethod = Annotated[str, text(255)]
"""A Stripe PaymentMethod id or test token, as orders' HTTP API accepts it."""
IdempotencyKey = Annotated[str, text(255)]
"""A key Stripe deduplicates a request by (Stripe's limit: 255)."""
StripeId = Annotated[str, text(255)]
"""An id Stripe made, of a PaymentIntent or a Refund (Stripe's limit: 255)."""
DeclineCode = Annotated[str, text(100)]
"""Stripe's code for a declined or refused charge (``card_declined``, ``insufficient_funds``...)."""
Reason = Annotated[str, text(500)]
"""Why something failed, for people: make one from text the service does not control with ``fit``."""
Title = Annotated[str, text(200)]
"""A product's title."""
Platform = Annotated[str, text(64)]
"""The console a product runs on."""
WireType = Annotated[str, text(64, pattern=rf"^[A-Z][A-Za-z0-9]*{END}")]
"""A message type's name on the wire (its class name)."""
Sku = Annotated[str, text(32, pattern=rf"^[A-Z0-9][A-Z0-9-]*{END}")]
"""A product's stock-keeping unit: capitals, digits and dashes."""
Currency = Annotated[str, text(3, min_length=3, pattern=rf"^[a-z]{{3}}{END}")]
"""An ISO 4217 currency code, lower case as Stripe writes it."""

Quantity = Annotated[int, msgspec.Meta(ge=1, le=100)]
Cents = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
Units = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
"""A number of units in stock (what a PostgreSQL ``integer`` holds)."""
Revision = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
"""A counter of changes (what a PostgreSQL ``bigint`` holds)."""
Year = Annotated[int, msgspec.Meta(ge=1950, le=2100)]

MAX_LINES = 50
"""An order has 1 to 50 lines (orders' HTTP API accepts no more)."""


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    """A command, reply or event. Its class name is its wire type (the ``type`` field).

    ``schema_version`` is bumped on a breaking change; see docs/contracts.md.
    """

    schema_version: ClassVar[int] = 1


class Retired(Message, frozen=True, kw_only=True):
    """An earlier version of a message type that is still decoded, then upgraded to the current version.

    A subclass keeps the old shape, names the current class's wire type (``tag="ReserveStock"``), sets
    ``schema_version`` to the old version and implements ``upgrade``. It is registered in
    ``contracts/retired/``; handlers never see it, because the codec upgrades it on decoding.
    """

    def upgrade(self) -> Message:
        """This message as the current version of its type, or as the next retired version (the upcaster).

        Raises ``msgspec.ValidationError`` when the old message cannot be a valid newer one (e.g. a value the new
        bounds refuse); the codec then rejects the message, and the consumer dead-letters it.
        """
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


Lines = Annotated[list[Line], msgspec.Meta(min_length=1, max_length=MAX_LINES)]
PricedLines = Annotated[list[PricedLine], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


def fit(value: str, text_type: Any) -> str:
    """``value`` made valid for a text type (``fit(str(error), Reason)``): NUL becomes U+FFFD, a value over the
    type's maximum is cut, ending with "…", and an empty one becomes "(empty)".

    For text a service does not control (exception messages, other systems' answers) that goes into a message.
    """
    info = msgspec.inspect.type_info(text_type)
    if not (isinstance(info, msgspec.inspect.StrType) and info.max_length and info.pattern == NUL_FREE):
        raise TypeError(f"fit() is for the NUL-free text types of contracts.base, not {text_type!r}")
    cleaned = value.replace("\x00", "\ufffd") or "(empty)"
    return cleaned if len(cleaned) <= info.max_length else cleaned[: info.max_length - 1] + "…"


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
