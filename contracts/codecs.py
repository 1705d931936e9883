"""One codec per topic, built once: JSON envelopes with a tagged union of the topic's payloads.

A codec also reads the retired versions (``contracts/retired/``) of the types in its union and upgrades them
to the current version, so handlers only ever see current versions. ``all_message_types()`` lists every message
type the package defines (this module imports every module that defines one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, cast, get_args

import msgspec

from contracts import topics
from contracts.base import Message, Retired, message_type, wire_type
from contracts.catalog import CatalogCommand, CatalogReply, ProductChanged
from contracts.envelope import Envelope, M
from contracts.failures import CommandFailed
from contracts.orders import OrdersCommand, OrdersEvent, OrdersReply
from contracts.payment import PaymentCommand, PaymentReply
from contracts.retired import RETIRED

_ENCODER = msgspec.json.Encoder()


class _Header(msgspec.Struct):
    """Just enough of an envelope to tell which version of which message type it carries."""

    type: str
    schema_version: int


_HEADER_DECODER = msgspec.json.Decoder(_Header)


class _NeverSent(msgspec.Struct, frozen=True, tag_field="type", tag="\x00"):
    """Paired with a retired class to make a tagged union: msgspec requires the tag only of a union's members."""


class Codec(Generic[M]):
    """Encodes envelopes and strictly decodes them against one union of payload types.

    ``retired`` lists earlier versions of the union's types (subclasses of ``Retired``): a message in one of
    them is decoded with its old shape and returned upgraded, as the current version.
    """

    def __init__(self, payloads: Any, retired: Iterable[type[Retired]] = ()) -> None:
        self.payloads = payloads  # the union of payload types this codec accepts
        self._decoder: msgspec.json.Decoder[Envelope[M]] = msgspec.json.Decoder(Envelope[payloads])
        # wire type -> its current class; (wire type, schema_version) -> the retired class that reads that version
        self.current: dict[str, type[Message]] = {wire_type(cls): cls for cls in _members(payloads)}
        self.retired: dict[tuple[str, int], type[Retired]] = {}
        for cls in retired:
            self.retired[self._check_retired(cls)] = cls
        self._retired_decoders = {key: _retired_decoder(cls) for key, cls in self.retired.items()}

    def decode(self, data: bytes) -> Envelope[M]:
        """Decode and validate; raises ``msgspec.DecodeError`` (or ``ValidationError``) on anything invalid.

        A message in a retired version comes back upgraded to the current version; any other version is rejected.
        """
        try:
            envelope = self._decoder.decode(data)
        except msgspec.DecodeError:
            # Not the current shape: maybe another version of a type this codec carries.
            header = _read_header(data)
            current = self.current.get(header.type) if header else None
            if header is None or current is None or header.schema_version == current.schema_version:
                raise
            return self._decode_retired(data, header.type, header.schema_version)
        if envelope.type != message_type(envelope.payload):
            raise _type_mismatch(envelope)
        if envelope.schema_version != type(envelope.payload).schema_version:
            return self._decode_retired(data, envelope.type, envelope.schema_version)
        return envelope

    @staticmethod
    def encode(envelope: Envelope[Any]) -> bytes:
        """Encode an envelope to JSON bytes."""
        return _ENCODER.encode(envelope)

    def readable_versions(self, name: str) -> list[int]:
        """Every schema_version of the wire type ``name`` this codec reads, oldest first."""
        current = self.current.get(name)
        retired = [version for (retired_name, version) in self.retired if retired_name == name]
        return sorted([*retired, *([current.schema_version] if current else [])])

    def _decode_retired(self, data: bytes, name: str, version: int) -> Envelope[M]:
        decoder = self._retired_decoders.get((name, version))
        if decoder is None:
            readable = ", ".join(f"v{v}" for v in self.readable_versions(name))
            raise msgspec.ValidationError(
                f"unsupported schema_version {version} for {name} (this service reads {readable})"
            )
        envelope = decoder.decode(data)
        if envelope.type != message_type(envelope.payload):
            raise _type_mismatch(envelope)
        current = self.current[name]
        try:
            payload = _upgrade(envelope.payload, current)
        except msgspec.ValidationError as refused:
            # msgspec's path is within the payload (`$.order_id`); say where that is in the message
            where = str(refused).replace(" - at `$", " - at `$.payload", 1)
            raise msgspec.ValidationError(
                f"{name} v{version} could not be upgraded to v{current.schema_version}: {where}"
            ) from refused
        if type(payload) is not current:
            raise msgspec.ValidationError(
                f"{name} v{version} could not be upgraded: it led to {type(payload).__qualname__} "
                f"v{payload.schema_version}, not {current.__qualname__} v{current.schema_version}"
            )
        return cast(
            "Envelope[M]", msgspec.structs.replace(envelope, payload=payload, schema_version=current.schema_version)
        )

    def _check_retired(self, cls: type[Retired]) -> tuple[str, int]:
        """The (wire type, version) ``cls`` reads; raises ``TypeError`` if it cannot be one of this codec's."""
        name, version = wire_type(cls), cls.schema_version
        current = self.current.get(name)
        if current is None:
            problem = f"its wire type {name!r} is not in this codec's union (set tag= to the current class's name)"
        elif "schema_version" not in vars(cls):
            problem = "it must set schema_version to the version it reads"
        elif version >= current.schema_version:
            problem = f"its schema_version {version} is not below the current {name}'s ({current.schema_version})"
        elif (name, version) in self.retired:
            problem = f"{name} v{version} is already read by {self.retired[name, version].__qualname__}"
        elif cls.upgrade is Retired.upgrade:
            problem = "it must implement upgrade()"
        else:
            return name, version
        raise TypeError(f"retired {cls.__qualname__}: {problem}")


def _upgrade(payload: Message, current: type[Message]) -> Message:
    """Run the upcasters from ``payload``'s version up; a result of the ``current`` class is validated against it
    as a decoded message is (a Struct's constructor checks no constraint), so handlers only see valid messages."""
    while isinstance(payload, Retired):
        previous, payload = payload, payload.upgrade()
        if payload.schema_version <= previous.schema_version:
            break  # not a later version: the caller reports it, rather than upgrading for ever
    if type(payload) is current:
        return msgspec.convert(msgspec.to_builtins(payload), current)
    return payload


def _members(payloads: Any) -> tuple[type[Message], ...]:
    return get_args(payloads) or (payloads,)


def _retired_decoder(cls: type[Retired]) -> msgspec.json.Decoder[Envelope[Any]]:
    payload: Any = cls | _NeverSent
    return msgspec.json.Decoder(Envelope[payload])


def _read_header(data: bytes) -> _Header | None:
    try:
        return _HEADER_DECODER.decode(data)
    except msgspec.DecodeError:
        return None


def _type_mismatch(envelope: Envelope[Any]) -> msgspec.ValidationError:
    return msgspec.ValidationError(
        f"envelope type {envelope.type!r} does not match payload type {message_type(envelope.payload)!r}"
    )


def _topic_codec(payloads: Any) -> Codec[Any]:
    """A topic's codec: its union, plus the registered retired versions of the types in it."""
    carried = {wire_type(cls) for cls in _members(payloads)}
    return Codec(payloads, retired=[cls for cls in RETIRED if wire_type(cls) in carried])


SagaReply = CatalogReply | PaymentReply | OrdersReply | CommandFailed

CODECS: dict[str, Codec[Any]] = {
    topics.CATALOG_COMMANDS.name: _topic_codec(CatalogCommand),
    topics.PAYMENT_COMMANDS.name: _topic_codec(PaymentCommand),
    topics.ORDERS_COMMANDS.name: _topic_codec(OrdersCommand),
    topics.SAGA_REPLIES.name: _topic_codec(SagaReply),
    topics.ORDER_EVENTS.name: _topic_codec(OrdersEvent),
    topics.PRODUCT_EVENTS.name: _topic_codec(ProductChanged),
}


def codec_for(topic: str) -> Codec[Any]:
    """The codec of a topic's messages."""
    return CODECS[topic]


def all_message_types() -> list[type[Message]]:
    """Every concrete message type defined in the ``contracts`` package, sorted by wire type.

    Only current versions: retired ones (``Retired`` and its subclasses) share their wire type and are left out.
    Defined here because this module imports every module that defines messages carried on a topic.
    """
    found: dict[str, type[Message]] = {}
    pending: list[type[Message]] = list(Message.__subclasses__())
    while pending:
        cls = pending.pop()
        if issubclass(cls, Retired):
            continue
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] != "contracts":
            continue  # e.g. a modified copy built by a test
        tag = wire_type(cls)
        if tag in found and found[tag] is not cls:
            raise TypeError(f"two message types share the wire type {tag!r}: {found[tag]} and {cls}")
        found[tag] = cls
    return [found[tag] for tag in sorted(found)]
