"""How a service says which handler applies which message: its routing table and the handler shapes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from confluent_kafka import Message as KafkaMessage

from contracts.envelope import Envelope
from plumbing.logs import about
from plumbing.senders import applying
from plumbing.tracing import consuming

U = TypeVar("U")
U_contra = TypeVar("U_contra", contravariant=True)

Handler: TypeAlias = Callable[[U, Envelope[Any]], None]
"""Applies one message inside the consumer's transaction, through the service's unit of work."""
Scope = Callable[[Envelope[Any]], AbstractContextManager[None]]


@dataclass(frozen=True)
class Batched(Generic[U_contra]):
    """A handler that applies all of a batch's messages for it at once.

    ``many`` gets them in order and can share its statements among them (one lock, one update, one insert
    per table instead of one per message); it must enter ``scope(envelope)`` around each message's own
    work, so that message's span and log context are current. When a failing batch is re-applied one
    message at a time, it gets lists of one.
    """

    many: Callable[[U_contra, list[Envelope[Any]], Scope], None]

    def one(self, uow: U_contra, envelope: Envelope[Any]) -> None:
        """Apply a single message (its scope is already entered by the caller)."""
        self.many(uow, [envelope], lambda _envelope: contextlib.nullcontext())


Routes: TypeAlias = Mapping[str, Mapping[str, Handler[U] | Batched[U]]]
"""topic name -> message type -> handler"""


def single(handler: Handler[U] | Batched[U]) -> Handler[U]:
    """The handler for one message."""
    return handler.one if isinstance(handler, Batched) else handler


@dataclass
class Decoded(Generic[U]):
    """A Kafka message that decoded against its topic's contract, with its handler."""

    raw: KafkaMessage
    envelope: Envelope[Any]
    handler: Handler[U] | Batched[U]

    @property
    def topic(self) -> str:
        """The topic it came from."""
        return self.raw.topic() or ""


def handle(uow: U, item: Decoded[U]) -> None:
    """Run one message's handler inside its scope."""
    with scope(item):
        single(item.handler)(uow, item.envelope)


def scopes(items: list[Decoded[U]]) -> Scope:
    """``scope(envelope)`` for a batched handler: the span and log context of that envelope's message."""
    by_envelope = {id(item.envelope): item for item in items}

    def scope_of(envelope: Envelope[Any]) -> AbstractContextManager[None]:
        return scope(by_envelope[id(envelope)])

    return scope_of


@contextlib.contextmanager
def scope(item: Decoded[Any]) -> Iterator[None]:
    """One message's consumer span, with its order and saga on every log line and its writer known
    (``plumbing.senders.writer``)."""
    envelope = item.envelope
    attributes = {
        "messaging.message.id": str(envelope.message_id),
        "messaging.kafka.message.key": (item.raw.key() or b"")[:200].decode("utf-8", "replace"),
        "retrovault.message_type": envelope.type,
        "retrovault.order_id": envelope.correlation_id or "",
        "retrovault.saga_id": str(envelope.saga_id or ""),
    }
    headers = headers_of(item.raw)
    with (
        consuming(item.raw.topic() or "", headers, attributes),
        about(order_id=envelope.correlation_id, saga_id=envelope.saga_id),
        applying(headers),
    ):
        yield


def headers_of(message: KafkaMessage) -> dict[str, str]:
    """A Kafka message's headers as text (undecodable bytes replaced; none if the client cannot read them)."""
    try:
        original = message.headers() or []
    except Exception:  # e.g. a header name that is not UTF-8: the message itself is still dealt with
        return {}
    pairs = original.items() if isinstance(original, dict) else original
    return {
        name: value if isinstance(value, str) else (value or b"").decode("utf-8", "replace") for name, value in pairs
    }
