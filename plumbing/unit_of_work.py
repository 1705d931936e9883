"""One transaction's worth of work: the effects a batch of messages causes and the messages to send."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from contracts.base import Message
from contracts.codecs import Codec
from contracts.envelope import Envelope, wrap
from contracts.topics import DEAD_LETTERS, SAGA_REPLIES, Topic
from plumbing.db import reading
from plumbing.json_rows import Deferred, insert_rows, rows_param
from plumbing.outbox import HandOver, OutboxRow, Outgoing
from plumbing.senders import INSTANCE_HEADER
from plumbing.tracing import inject

_REPLY_NAMESPACE = uuid.UUID("5b0a8d0e-6f3c-4f7e-9a52-2f1c3a7d9e10")


def reply_id(command_id: uuid.UUID) -> uuid.UUID:
    """The reply's message id is derived from its command's, so one command can only ever have one reply."""
    return uuid.uuid5(_REPLY_NAMESPACE, str(command_id))


def reply_to(command: Envelope[Any], payload: Message) -> Envelope[Any]:
    """``payload`` in the envelope that answers ``command``: same saga and order, caused by it, its id derived."""
    return wrap(
        payload,
        correlation_id=command.correlation_id,
        saga_id=command.saga_id,
        causation_id=command.message_id,
        message_id=reply_id(command.message_id),
    )


class Messages(Protocol):
    """The port use cases send messages through: queued in the transaction, published after it commits."""

    def publish(self, topic: Topic, envelope: Envelope[Any], *, key: str) -> None:
        """Queue ``envelope`` for ``topic``, keyed by ``key``."""
        ...

    def reply(self, command: Envelope[Any], payload: Message) -> Envelope[Any]:
        """Queue ``payload`` as the answer to a saga command."""
        ...


class UnitOfWork:
    """A database transaction plus the outbox rows it will commit with it.

    Each service subclasses it to bind its repositories to ``conn`` (``uow.products``, ``uow.orders``, ...);
    use cases send messages with ``publish``/``reply``. Nothing reaches Kafka until the transaction has
    committed and the outbox relay picks the rows up.
    """

    def __init__(self, conn: Connection, outbox: sa.Table) -> None:
        self.conn = conn
        self._outbox = outbox
        self._rows: list[dict[str, Any]] = []
        self._deferred: dict[Deferred, list[Any]] = {}
        self.written: list[OutboxRow] = []
        """Rows flushed to the outbox so far (with their ids), in the order they were queued."""
        self.replies: dict[uuid.UUID, dict[str, Any]] = {}
        """The outbox row of each reply queued so far, by the id of the command it answers (the consumer
        records it in the inbox, to answer the command again if it comes again)."""
        self.instance: str | None = None
        """The service instance running this unit of work (see ``run_by``), named by every message it queues."""
        self.on_commit: list[Callable[[], None]] = []
        """Called once the transaction has committed (``Transactions.commit``), in order; never if it rolls back."""
        self.on_rollback: list[Callable[[], None]] = []
        """Called, in order, when ``Transactions.begin``'s transaction does not commit (the block or the commit
        raised); never after ``on_commit``. (A commit whose answer was lost may still have committed.)"""

    def run_by(self, instance: str | None) -> None:
        """Name the service instance this unit of work runs in (``Transactions`` does, when it knows it): every
        message ``publish`` queues then carries it in its ``rv-instance`` header (``plumbing.senders``)."""
        self.instance = instance

    def publish(self, topic: Topic, envelope: Envelope[Any], *, key: str) -> None:
        """Queue ``envelope`` for ``topic`` in this transaction's outbox."""
        self._rows.append(
            {
                "topic": topic.name,
                "key": key,
                "value": Codec.encode(envelope),
                "headers": inject(self._headers(envelope)),
            }
        )

    def _headers(self, envelope: Envelope[Any]) -> dict[str, str]:
        headers = {"type": envelope.type, "message_id": str(envelope.message_id)}
        if self.instance:
            headers[INSTANCE_HEADER] = self.instance
        return headers

    def reply(self, command: Envelope[Any], payload: Message) -> Envelope[Any]:
        """Answer a saga command on the coordinator's reply topic."""
        envelope = reply_to(command, payload)
        self.publish(SAGA_REPLIES, envelope, key=str(command.saga_id))
        self.replies[command.message_id] = self._rows[-1]
        return envelope

    def dead_letter(self, *, topic: str, key: str | None, value: bytes, headers: dict[str, str], reason: str) -> None:
        """Queue an unusable message for the dead-letter topic: its original bytes, its key and headers as
        storable text (``plumbing.poison.dead_letter_fields`` makes them so) and why it was refused."""
        self._rows.append(
            {
                "topic": DEAD_LETTERS.name,
                "key": key,
                "value": value,
                "headers": {**headers, "dlq.reason": reason, "dlq.topic": topic},
            }
        )

    def republish(self, *, topic: str, key: str | None, value: bytes, headers: dict[str, str]) -> None:
        """Queue a message's original bytes for its original topic again (operator replay of a dead letter)."""
        self._rows.append({"topic": topic, "key": key, "value": value, "headers": headers})

    def defer(self, write: Deferred, rows: Iterable[Any]) -> None:
        """Queue ``rows`` for ``write``, a statement whose result nobody reads (a timeline, the inbox's replies,
        the relay's deletions): ``flush`` sends every deferred write with the outbox insert, as one statement
        (its parts see the same snapshot and none sees another's rows), so they cost no round trip of their
        own. Nothing this transaction runs before the flush sees them: defer only what it does not read back.
        The rows of several calls for one write go together if it ``appends``; else the earlier rows are sent
        first, now."""
        queued = list(rows)
        if not queued:
            return
        pending = self._deferred.get(write)
        if pending and not write.appends:
            write.run(self.conn, pending)
            pending.clear()
        self._deferred.setdefault(write, []).extend(queued)

    def discard(self) -> None:
        """Forget the rows and writes queued since the last flush (their handler's savepoint was rolled back)."""
        forgotten = {id(row) for row in self._rows}
        self._rows = []
        self._deferred = {}
        self.replies = {command: row for command, row in self.replies.items() if id(row) not in forgotten}

    def flush(self) -> int:
        """Write the queued rows to the outbox, with the deferred writes, in one statement (still inside the
        transaction); returns how many rows."""
        rows, self._rows = self._rows, []
        deferred, self._deferred = self._deferred, {}
        writes = tuple(write for write, values in deferred.items() if values)
        if not rows and not writes:
            return 0
        params: dict[str, Any] = {}
        for write in writes:
            params.update(rows_param(deferred[write], write.param))
        statement = _flush_statement(self._outbox.name, writes, with_rows=bool(rows))
        if rows:
            params.update(rows_param(rows))
            # Identities ascend in the rows' insert order: sorted, the ids line up with the rows given.
            ids = sorted(self.conn.execute(statement, params).scalars())
            self.written += [OutboxRow(id=i, **row) for i, row in zip(ids, rows, strict=True)]
        else:
            self.conn.execute(statement, params)
        return len(rows)


@cache
def _flush_statement(outbox: str, writes: tuple[Deferred, ...], *, with_rows: bool) -> sa.TextClause:
    """The outbox insert (``with_rows``) with ``writes`` as data-modifying ``WITH`` items: PostgreSQL runs each
    exactly once, on the statement's snapshot, whether or not the rest reads it."""
    assert len({w.param for w in writes} | {"rows"}) == len(writes) + 1, "each deferred write needs its own param"
    if not with_rows and len(writes) == 1:
        return sa.text(writes[0].sql)
    columns = {"topic": "text", "key": "text", "value": "bytea", "headers": "jsonb"}
    primary = insert_rows(outbox, columns, suffix="RETURNING id", ordered=True).text if with_rows else "SELECT 1"
    if not writes:
        return sa.text(primary)
    return sa.text("WITH " + ", ".join(f"w{i} AS ({w.sql})" for i, w in enumerate(writes)) + " " + primary)


U = TypeVar("U", bound=UnitOfWork)
U_co = TypeVar("U_co", covariant=True)


class UnitsOfWork(Protocol[U_co]):
    """The port use cases open units of work through (``Transactions`` here, a fake in unit tests)."""

    def begin(self) -> AbstractContextManager[U_co]:
        """A unit of work committed, messages included, when the block ends without error."""
        ...

    def read(self) -> AbstractContextManager[U_co]:
        """A unit of work for reading only: rolled back at the end, nothing sent."""
        ...


class Transactions(Generic[U]):
    """Opens a service's units of work on its engine; the outbox rows of each commit go to ``hand_over``.

    ``unit`` binds the service's repositories to a connection (its ``UnitOfWork`` subclass); ``instance``, when
    given, names the service instance every unit of work runs in (``UnitOfWork.run_by``).
    """

    def __init__(
        self,
        engine: Engine,
        outbox: sa.Table,
        unit: Callable[[Connection, sa.Table], U],
        hand_over: HandOver | None = None,
        *,
        instance: str | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self._unit = unit
        self._hand_over = hand_over or _commit_only
        self.instance = instance

    def handing_over_to(self, hand_over: HandOver) -> Transactions[U]:
        """The same units of work, their commits handed to a relay."""
        return Transactions(self.engine, self.outbox, self._unit, hand_over, instance=self.instance)

    def open(self, conn: Connection) -> U:
        """A unit of work on a connection whose transaction the caller runs (the consumer's batch)."""
        uow = self._unit(conn, self.outbox)
        uow.run_by(self.instance)
        return uow

    def commit(self, commit: Callable[[], None], uow: UnitOfWork) -> None:
        """Write ``uow``'s queued rows, commit, and hand its rows to the relay (in commit order)."""
        self._hand_over(commit, uow)
        for committed in uow.on_commit:
            committed()

    @contextmanager
    def begin(self) -> Iterator[U]:
        """A unit of work; committed (outbox rows included) when the block ends without error."""
        with self.engine.connect() as conn, conn.begin() as transaction:
            uow = self.open(conn)
            try:
                yield uow
                self.commit(transaction.commit, uow)
            except BaseException:
                for rolled_back in uow.on_rollback:
                    rolled_back()
                raise

    @contextmanager
    def read(self) -> Iterator[U]:
        """A unit of work for reads (``plumbing.db.reading``: read only, committed); nothing it queues is written
        or sent."""
        with reading(self.engine) as conn:
            yield self.open(conn)


def _commit_only(commit: Callable[[], None], uow: Outgoing) -> None:
    """No relay in this process: write the rows and commit; they wait in the outbox for the service's relay."""
    uow.flush()
    commit()
