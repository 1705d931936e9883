"""One codec per topic, built once: JSON envelopes with a tagged union of the topic's payloads."""

from __future__ import annotations

from typing import Any, Generic

import msgspec

from contracts import topics
from contracts.base import message_type
from contracts.catalog import CatalogCommand, CatalogReply, ProductChanged
from contracts.envelope import Envelope, M
from contracts.orders import OrdersCommand, OrdersEvent, OrdersReply
from contracts.payment import PaymentCommand, PaymentReply

_ENCODER = msgspec.json.Encoder()


class Codec(Generic[M]):
    """Encodes envelopes and strictly decodes them against one union of payload types."""

    def __init__(self, payloads: Any) -> None:
        self.payloads = payloads  # the union of payload types this codec accepts
        self._decoder: msgspec.json.Decoder[Envelope[M]] = msgspec.json.Decoder(Envelope[payloads])

    def decode(self, data: bytes) -> Envelope[M]:
        """Decode and validate; raises ``msgspec.DecodeError`` (or ``ValidationError``) on anything invalid."""
        envelope = self._decoder.decode(data)
        if envelope.type != message_type(envelope.payload):
            raise msgspec.ValidationError(
                f"envelope type {envelope.type!r} does not match payload type {message_type(envelope.payload)!r}"
            )
        if envelope.schema_version != type(envelope.payload).schema_version:
            raise msgspec.ValidationError(f"unsupported schema_version {envelope.schema_version} for {envelope.type}")
        return envelope

    @staticmethod
    def encode(envelope: Envelope[Any]) -> bytes:
        """Encode an envelope to JSON bytes."""
        return _ENCODER.encode(envelope)


SagaReply = CatalogReply | PaymentReply | OrdersReply

CODECS: dict[str, Codec[Any]] = {
    topics.CATALOG_COMMANDS.name: Codec(CatalogCommand),
    topics.PAYMENT_COMMANDS.name: Codec(PaymentCommand),
    topics.ORDERS_COMMANDS.name: Codec(OrdersCommand),
    topics.SAGA_REPLIES.name: Codec(SagaReply),
    topics.ORDER_EVENTS.name: Codec(OrdersEvent),
    topics.PRODUCT_EVENTS.name: Codec(ProductChanged),
}


def codec_for(topic: str) -> Codec[Any]:
    """The codec of a topic's messages."""
    return CODECS[topic]
