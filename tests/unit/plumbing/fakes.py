"""Fakes for the consumer's plumbing: Kafka messages, and a database with an inbox and an outbox in memory."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from confluent_kafka import Message as KafkaMessage
from sqlalchemy.engine import Connection

from contracts.base import Message
from contracts.codecs import Codec
from contracts.envelope import Envelope, wrap
from plumbing.db import messaging_tables
from plumbing.unit_of_work import UnitOfWork

OUTBOX, _INBOX = messaging_tables(sa.MetaData())
_OFFSETS = itertools.count()

Headers = list[tuple[str, bytes | None]]


@dataclass
class FakeKafkaMessage:
    """What the consumer reads of a confluent-kafka message."""

    _topic: str
    _value: bytes | None
    _key: bytes | None = b"key"
    _headers: Headers | None = None
    _partition: int = 0
    _offset: int = field(default_factory=lambda: next(_OFFSETS))

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def headers(self) -> Headers | None:
        return self._headers

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def error(self) -> None:
        return None


def kafka_message(topic: str, value: bytes | None, **fields: Any) -> KafkaMessage:
    """A fake consumed message, typed as the real one."""
    return cast(KafkaMessage, FakeKafkaMessage(topic, value, **{f"_{name}": v for name, v in fields.items()}))


def command(payload: Message, *, message_id: uuid.UUID | None = None) -> Envelope[Any]:
    """An envelope for ``payload`` in a saga of its own, as the coordinator sends commands."""
    return wrap(payload, correlation_id="order-1", saga_id=uuid.uuid4(), message_id=message_id)


def encoded(envelope: Envelope[Any]) -> bytes:
    """The envelope's bytes on the wire."""
    return Codec.encode(envelope)


@dataclass
class FakeDatabase:
    """The inbox (message id -> recorded reply row, or None) and the outbox rows, as committed."""

    inbox: dict[uuid.UUID, dict[str, Any] | None] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    commits: int = 0
    failing_commits: list[Exception] = field(default_factory=list)
    """Errors the next commits raise, one each (the transaction is then rolled back)."""

    def rows(self, topic: str) -> list[dict[str, Any]]:
        """The committed outbox rows for ``topic``."""
        return [row for row in self.outbox if row["topic"] == topic]


class FakeTransaction:
    """One transaction's view of the inbox: the committed rows plus its own changes."""

    def __init__(self, db: FakeDatabase) -> None:
        self.inbox = dict(db.inbox)


class FakeInbox:
    """``plumbing.inbox.InboxPort`` on a ``FakeTransaction``."""

    def claim(self, conn: FakeTransaction, items: list[Any]) -> set[uuid.UUID]:
        fresh = {i.envelope.message_id for i in items if i.envelope.message_id not in conn.inbox}
        conn.inbox.update(dict.fromkeys(fresh))
        return fresh

    def record_replies(self, uow: UnitOfWork, replies: Mapping[uuid.UUID, dict[str, Any]]) -> None:
        conn = cast(FakeTransaction, uow.conn)
        for command_id, row in replies.items():
            assert command_id in conn.inbox, "a reply is recorded only for a command claimed in the same transaction"
            conn.inbox[command_id] = dict(row)

    def recorded_replies(self, conn: FakeTransaction, command_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
        return [dict(row) for i in command_ids if (row := conn.inbox.get(i))]


class FakeUnitOfWork(UnitOfWork):
    """The real unit of work's message queueing, with a flush that keeps the rows instead of inserting them."""

    def __init__(self, transaction: FakeTransaction) -> None:
        super().__init__(cast(Connection, transaction), OUTBOX)
        self.flushed: list[dict[str, Any]] = []

    def flush(self) -> int:
        rows, self._rows = self._rows, []
        self.flushed += rows
        return len(rows)


class FakeUnits:
    """``UnitsOfWork`` over a ``FakeDatabase``: a transaction's inbox and outbox changes land only if it commits."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    @contextmanager
    def begin(self) -> Iterator[FakeUnitOfWork]:
        transaction = FakeTransaction(self.db)
        uow = FakeUnitOfWork(transaction)
        yield uow
        uow.flush()
        if self.db.failing_commits:
            raise self.db.failing_commits.pop(0)
        self.db.inbox = transaction.inbox
        self.db.outbox += uow.flushed
        self.db.commits += 1

    @contextmanager
    def read(self) -> Iterator[FakeUnitOfWork]:
        yield FakeUnitOfWork(FakeTransaction(self.db))
