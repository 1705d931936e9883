"""The consumer loop: Kafka batches in, one transaction per batch, offsets stored only after commit."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa
import tenacity
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Message as KafkaMessage
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from contracts.codecs import codec_for
from contracts.envelope import Envelope
from plumbing.db import is_transient
from plumbing.errors import RetryLater, Unprocessable
from plumbing.logs import about
from plumbing.metrics import BATCH_SECONDS, CONSUMER_LAG, MESSAGES
from plumbing.outbox import OutboxRelay
from plumbing.tracing import consuming
from plumbing.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Envelope[Any]], None]
Scope = Callable[[Envelope[Any]], AbstractContextManager[None]]


@dataclass(frozen=True)
class Batched:
    """A handler that applies all of a batch's messages for it at once.

    ``many`` gets them in order and can share its statements among them (one lock, one update, one insert
    per table instead of one per message); it must enter ``scope(envelope)`` around each message's own
    work, so that message's span and log context are current. When a failing batch is re-applied one
    message at a time, it gets lists of one.
    """

    many: Callable[[UnitOfWork, list[Envelope[Any]], Scope], None]

    def one(self, uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        """Apply a single message (its scope is already entered by the caller)."""
        self.many(uow, [envelope], lambda _envelope: contextlib.nullcontext())


Routes = Mapping[str, Mapping[str, Handler | Batched]]
"""topic name -> message type -> handler"""


def single(handler: Handler | Batched) -> Handler:
    """The handler for one message."""
    return handler.one if isinstance(handler, Batched) else handler


@dataclass
class Decoded:
    """A Kafka message that decoded against its topic's contract, with its handler."""

    raw: KafkaMessage
    envelope: Envelope[Any]
    handler: Handler | Batched


@dataclass
class Poison:
    """A Kafka message that must go to the dead-letter topic, and why."""

    raw: KafkaMessage
    reason: str


@dataclass
class ConsumerStats:
    """Counters the loop keeps (exposed by the service's metrics)."""

    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class ConsumerLoop:
    """Consumes ``routes``' topics and applies each message exactly once.

    Per batch: decode every message strictly (undecodable ones are dead-lettered), claim the message
    ids in the inbox (a redelivered id is skipped), run the handlers, write the outbox and commit, all in
    one transaction, handing the outbox rows to the relay as it commits; then store the offsets. A handler
    error other than a database outage is isolated by re-running the batch with a savepoint per message and
    dead-lettering the one that fails.
    A database outage retries the whole batch with backoff until it succeeds or the service stops.
    """

    def __init__(
        self,
        *,
        service: str,
        engine: Engine,
        outbox: sa.Table,
        inbox: sa.Table,
        new_consumer: Callable[[], Consumer],
        routes: Routes,
        relay: OutboxRelay,
        batch_size: int = 500,
        poll_timeout_s: float = 0.05,
    ) -> None:
        self._service = service
        self._engine = engine
        self._outbox = outbox
        self._inbox = inbox
        self._new_consumer = new_consumer
        self._consumer = new_consumer()
        self._routes = routes
        self._relay = relay
        self._batch_size = batch_size
        self._poll_timeout_s = poll_timeout_s
        self.stats = ConsumerStats()
        self.assigned = threading.Event()
        self._fatal = False
        self._next_lag_update = 0.0
        self._claim_ids = (
            pg_insert(inbox).on_conflict_do_nothing(index_elements=["message_id"]).returning(inbox.c.message_id)
        )

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then commit stored offsets and close the consumer."""
        self._subscribe()
        try:
            while not stop.is_set():
                batch = [m for m in self._next_batch() if self._usable(m)]
                if time.monotonic() >= self._next_lag_update:
                    self._update_lag()
                    self._next_lag_update = time.monotonic() + 2.0
                if self._fatal:
                    self._replace_consumer()
                    continue
                if not batch:
                    continue
                try:
                    with BATCH_SECONDS.labels(self._service).time():
                        self._retrying(stop)(self._apply, batch)
                except tenacity.RetryError:
                    return  # stopping while the database is down: offsets stay, the batch comes again
                self._store_offsets(batch)
        finally:
            self._close()

    def _subscribe(self) -> None:
        self._fatal = False
        self._consumer.subscribe(list(self._routes), on_assign=lambda _c, _p: self.assigned.set())

    def _replace_consumer(self) -> None:
        """A fatal consumer error (e.g. fenced after a broker restart) leaves the client unusable: start anew.

        Offsets stored but not yet committed are lost with it; those messages come again and the inbox
        drops them.
        """
        log.warning("%s: replacing the Kafka consumer after a fatal error", self._service)
        self.assigned.clear()
        with contextlib.suppress(KafkaException, RuntimeError):
            self._consumer.close()
        self._consumer = self._new_consumer()
        self._subscribe()

    def _next_batch(self) -> list[KafkaMessage]:
        """Block for the first message only, then take whatever else is already fetched.

        ``consume(n, timeout)`` alone would wait the whole timeout whenever fewer than n messages are
        there, adding that wait to every hop of every saga.
        """
        first = self._consumer.poll(self._poll_timeout_s)
        if first is None:
            return []
        return [first, *self._consumer.consume(self._batch_size - 1, 0)]

    def _retrying(self, stop: threading.Event) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(_retriable),
            wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=5.0),
            stop=tenacity.stop_when_event_set(stop),
            sleep=lambda seconds: _wait(stop, seconds),
            before_sleep=lambda state: log.warning(
                "%s: a dependency is unavailable (%s); retrying the batch",
                self._service,
                state.outcome and state.outcome.exception(),
            ),
        )

    def _usable(self, message: KafkaMessage) -> bool:
        error = message.error()
        if error is None:
            return True
        # The fatal event itself arrives with code _FATAL (its fatal() flag is not always set).
        self._fatal = self._fatal or error.fatal() or error.code() == KafkaError._FATAL
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("%s: consumer error %s", self._service, error)
        return False

    def _apply(self, batch: list[KafkaMessage]) -> None:
        decoded, poison = self._decode(batch)
        try:
            self._commit(decoded, poison, isolate=False)
        except Exception as error:
            if _retriable(error):
                raise
            log.warning("%s: a handler failed (%r); re-applying the batch one message at a time", self._service, error)
            self._commit(decoded, poison, isolate=True)

    def _decode(self, batch: list[KafkaMessage]) -> tuple[list[Decoded], list[Poison]]:
        decoded: list[Decoded] = []
        poison: list[Poison] = []
        for raw in batch:
            topic = raw.topic() or ""
            try:
                envelope = codec_for(topic).decode(raw.value() or b"")
            except (msgspec.DecodeError, msgspec.ValidationError) as error:
                poison.append(Poison(raw, f"invalid message: {error}"))
                continue
            handler = self._routes.get(topic, {}).get(envelope.type)
            if handler is None:
                poison.append(Poison(raw, f"{self._service} has no handler for {envelope.type} on {topic}"))
                continue
            decoded.append(Decoded(raw, envelope, handler))
        return decoded, poison

    def _commit(self, decoded: list[Decoded], poison: list[Poison], *, isolate: bool) -> None:
        applied = duplicates = 0
        outcomes: list[tuple[str | None, str]] = []
        poison = list(poison)
        with self._engine.connect() as conn, conn.begin() as transaction:
            uow = UnitOfWork(conn, self._outbox)
            fresh = self._claim(conn, decoded) if not isolate else None
            together: dict[int, tuple[Batched, list[Decoded]]] = {}
            for item in decoded:
                if not isolate:
                    assert fresh is not None
                    if item.envelope.message_id not in fresh:
                        duplicates += 1
                        outcomes.append((item.raw.topic(), "duplicate"))
                        continue
                    fresh.discard(item.envelope.message_id)
                    if isinstance(item.handler, Batched):
                        together.setdefault(id(item.handler), (item.handler, []))[1].append(item)
                    else:
                        _handle(uow, item)
                    applied += 1
                    outcomes.append((item.raw.topic(), "applied"))
                    continue
                try:
                    with conn.begin_nested():
                        if not self._claim(conn, [item]):
                            duplicates += 1
                            outcomes.append((item.raw.topic(), "duplicate"))
                            continue
                        _handle(uow, item)
                        uow.flush()
                        applied += 1
                        outcomes.append((item.raw.topic(), "applied"))
                except Exception as error:
                    if _retriable(error):
                        raise
                    uow.discard()
                    reason = str(error) if isinstance(error, Unprocessable) else f"handler failed: {error!r}"
                    poison.append(Poison(item.raw, reason))
            for handler, items in together.values():
                handler.many(uow, [item.envelope for item in items], _scopes(items))
            for bad in poison:
                uow.dead_letter(**_dead_letter_fields(bad, self._service))
            uow.flush()
            self._relay.hand_over(transaction.commit, uow.written)
        self.stats.batches += 1
        self.stats.applied += applied
        self.stats.duplicates += duplicates
        self.stats.dead_lettered += len(poison)
        for topic, outcome in outcomes:
            MESSAGES.labels(self._service, topic, outcome).inc()
        for bad in poison:
            MESSAGES.labels(self._service, bad.raw.topic(), "dead_lettered").inc()
        for bad in poison:
            log.error("%s: dead-lettered a message from %s: %s", self._service, bad.raw.topic(), bad.reason)

    def _update_lag(self) -> None:
        """Per partition: the high watermark minus our position (from librdkafka's cached fetch state)."""
        try:
            for tp in self._consumer.position(self._consumer.assignment()):
                _low, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset >= 0 and high >= 0:
                    CONSUMER_LAG.labels(self._service, tp.topic, str(tp.partition)).set(max(high - tp.offset, 0))
        except KafkaException as error:
            log.debug("%s: lag not available: %s", self._service, error)

    def _claim(self, conn: sa.Connection, items: list[Decoded]) -> set[Any]:
        """Insert the message ids into the inbox; returns the ids that were not there yet."""
        if not items:
            return set()
        rows = [
            {"message_id": i.envelope.message_id, "message_type": i.envelope.type, "topic": i.raw.topic()}
            for i in items
        ]
        return set(conn.execute(self._claim_ids, rows).scalars().all())

    def _store_offsets(self, batch: list[KafkaMessage]) -> None:
        last: dict[tuple[str, int], int] = {}
        for message in batch:
            key = (message.topic() or "", message.partition() or 0)
            last[key] = max(last.get(key, -1), message.offset() or 0)
        try:
            self._consumer.store_offsets(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()])
        except KafkaException as error:
            # E.g. the partition was revoked meanwhile: its messages come again and the inbox drops them.
            log.warning("%s: could not store offsets (%s)", self._service, error)

    def _close(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)
        except Exception as error:  # nothing stored since the last auto-commit is a normal outcome
            log.info("%s: final offset commit: %s", self._service, error)
        self._consumer.close()


def _handle(uow: UnitOfWork, item: Decoded) -> None:
    """Run one message's handler inside its scope."""
    with _scope(item):
        single(item.handler)(uow, item.envelope)


def _scopes(items: list[Decoded]) -> Scope:
    """``scope(envelope)`` for a batched handler: the span and log context of that envelope's message."""
    by_envelope = {id(item.envelope): item for item in items}

    def scope(envelope: Envelope[Any]) -> AbstractContextManager[None]:
        return _scope(by_envelope[id(envelope)])

    return scope


@contextlib.contextmanager
def _scope(item: Decoded) -> Iterator[None]:
    """One message's consumer span, with its order and saga on every log line."""
    envelope = item.envelope
    attributes = {
        "messaging.message.id": str(envelope.message_id),
        "messaging.kafka.message.key": (item.raw.key() or b"").decode("utf-8", "replace"),
        "retrovault.message_type": envelope.type,
        "retrovault.order_id": envelope.correlation_id or "",
        "retrovault.saga_id": str(envelope.saga_id or ""),
    }
    with (
        consuming(item.raw.topic() or "", headers_of(item.raw), attributes),
        about(order_id=envelope.correlation_id, saga_id=envelope.saga_id),
    ):
        yield


def _wait(stop: threading.Event, seconds: float) -> None:
    """Sleep between retries, but wake at once when the service is stopping."""
    stop.wait(seconds)


def _retriable(error: BaseException) -> bool:
    """Errors that say "not now" (database or another dependency down), never "not ever"."""
    return is_transient(error) or isinstance(error, RetryLater)


def headers_of(message: KafkaMessage) -> dict[str, str]:
    """A Kafka message's headers as text (undecodable bytes replaced)."""
    original = message.headers() or []
    pairs = original.items() if isinstance(original, dict) else original
    return {
        name: value if isinstance(value, str) else (value or b"").decode("utf-8", "replace") for name, value in pairs
    }


def _dead_letter_fields(bad: Poison, service: str) -> dict[str, Any]:
    raw = bad.raw
    headers = headers_of(raw)
    headers.update(
        {
            "dlq.service": service,
            "dlq.partition": str(raw.partition()),
            "dlq.offset": str(raw.offset()),
        }
    )
    return {
        "topic": raw.topic() or "",
        "key": raw.key(),
        "value": raw.value(),
        "headers": headers,
        "reason": bad.reason,
    }
