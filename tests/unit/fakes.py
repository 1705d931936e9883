"""Fakes every service's unit tests share: messages sent through a unit of work, and opening units of work."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from contracts.base import Message
from contracts.envelope import Envelope, wrap
from contracts.topics import SAGA_REPLIES, Topic
from plumbing.unit_of_work import reply_to


@dataclass(frozen=True)
class Sent:
    """One message a use case queued: where to, under which key."""

    topic: str
    key: str
    envelope: Envelope[Any]


@dataclass
class FakeMessages:
    """``plumbing.unit_of_work.Messages`` in memory: what was published and replied, in order."""

    sent: list[Sent] = field(default_factory=list)

    def publish(self, topic: Topic, envelope: Envelope[Any], *, key: str) -> None:
        self.sent.append(Sent(topic.name, key, envelope))

    def reply(self, command: Envelope[Any], payload: Message) -> Envelope[Any]:
        envelope = reply_to(command, payload)
        self.publish(SAGA_REPLIES, envelope, key=str(command.saga_id))
        return envelope

    def payloads(self, topic: Topic) -> list[Any]:
        """The payloads sent to ``topic``, in order."""
        return [s.envelope.payload for s in self.sent if s.topic == topic.name]

    @property
    def replies(self) -> list[Any]:
        """The payloads of every reply, in order."""
        return self.payloads(SAGA_REPLIES)


U = TypeVar("U", bound=FakeMessages)


class FakeUnitsOfWork(Generic[U]):
    """``plumbing.unit_of_work.UnitsOfWork`` over one fake unit of work: counts commits and rollbacks.

    A block that raises keeps nothing it sent (its state changes stay, as the fakes have no undo).
    """

    def __init__(self, uow: U) -> None:
        self.uow = uow
        self.committed = 0
        self.rolled_back = 0

    @contextmanager
    def begin(self) -> Iterator[U]:
        before = len(self.uow.sent)
        try:
            yield self.uow
        except BaseException:
            del self.uow.sent[before:]
            self.rolled_back += 1
            raise
        self.committed += 1

    @contextmanager
    def read(self) -> Iterator[U]:
        yield self.uow


def command(payload: Message) -> Envelope[Any]:
    """An envelope carrying ``payload`` as the coordinator would send it, with a saga id of its own."""
    return wrap(payload, correlation_id=str(getattr(payload, "order_id", "")), saga_id=uuid.uuid4())
