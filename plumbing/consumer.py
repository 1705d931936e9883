"""The consumer loop: Kafka batches in, one transaction per batch, offsets stored only after commit."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic

import msgspec
import sqlalchemy as sa
import tenacity
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Message as KafkaMessage
from sqlalchemy.dialects.postgresql import insert as pg_insert

from contracts.codecs import codec_for
from plumbing.db import is_transient
from plumbing.errors import RetryLater, Unprocessable
from plumbing.metrics import BATCH_SECONDS, CONSUMER_LAG, MESSAGES
from plumbing.routing import Batched, Decoded, Outcomes, Poison, Routes, dead_letter_fields, handle, scopes
from plumbing.unit_of_work import Transactions, U

log = logging.getLogger(__name__)


@dataclass
class ConsumerStats:
    """Counters the loop keeps (exposed by the service's metrics)."""

    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class ConsumerLoop(Generic[U]):
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
        transactions: Transactions[U],
        inbox: sa.Table,
        new_consumer: Callable[[], Consumer],
        routes: Routes[U],
        batch_size: int = 500,
        poll_timeout_s: float = 0.05,
    ) -> None:
        self._service = service
        self._transactions = transactions
        self._new_consumer = new_consumer
        self._consumer = new_consumer()
        self._routes = routes
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
            self._apply_together(decoded, poison)
        except Exception as error:
            if _retriable(error):
                raise
            log.warning("%s: a handler failed (%r); re-applying the batch one message at a time", self._service, error)
            self._apply_one_by_one(decoded, poison)

    def _decode(self, batch: list[KafkaMessage]) -> tuple[list[Decoded[U]], list[Poison]]:
        decoded: list[Decoded[U]] = []
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

    def _apply_together(self, decoded: list[Decoded[U]], poison: list[Poison]) -> None:
        """The fast path: one inbox claim for the batch; batched handlers get all their messages at once."""
        outcomes = Outcomes(poison=list(poison))
        with self._transactions.engine.connect() as conn, conn.begin() as transaction:
            uow = self._transactions.open(conn)
            fresh = self._claim(conn, decoded)
            together: dict[int, tuple[Batched[U], list[Decoded[U]]]] = {}
            for item in decoded:
                if item.envelope.message_id not in fresh:
                    outcomes.add(item, "duplicate")
                    continue
                fresh.discard(item.envelope.message_id)  # the same id twice in one batch: apply it once
                if isinstance(item.handler, Batched):
                    together.setdefault(id(item.handler), (item.handler, []))[1].append(item)
                else:
                    handle(uow, item)
                outcomes.add(item, "applied")
            for handler, items in together.values():
                handler.many(uow, [item.envelope for item in items], scopes(items))
            self._finish(uow, transaction.commit, outcomes)

    def _apply_one_by_one(self, decoded: list[Decoded[U]], poison: list[Poison]) -> None:
        """After a handler failed: each message in a savepoint of its own; the one that fails is dead-lettered."""
        outcomes = Outcomes(poison=list(poison))
        with self._transactions.engine.connect() as conn, conn.begin() as transaction:
            uow = self._transactions.open(conn)
            for item in decoded:
                try:
                    with conn.begin_nested():
                        if not self._claim(conn, [item]):
                            outcomes.add(item, "duplicate")
                            continue
                        handle(uow, item)
                        uow.flush()
                        outcomes.add(item, "applied")
                except Exception as error:
                    if _retriable(error):
                        raise
                    uow.discard()
                    reason = str(error) if isinstance(error, Unprocessable) else f"handler failed: {error!r}"
                    outcomes.poison.append(Poison(item.raw, reason))
            self._finish(uow, transaction.commit, outcomes)

    def _finish(self, uow: U, commit: Callable[[], None], outcomes: Outcomes) -> None:
        """Dead-letter the poison, commit with the outbox rows handed to the relay, then count."""
        for bad in outcomes.poison:
            uow.dead_letter(**dead_letter_fields(bad, self._service))
        self._transactions.commit(commit, uow)
        stats = self.stats
        stats.batches += 1
        stats.applied += outcomes.applied
        stats.duplicates += outcomes.duplicates
        stats.dead_lettered += len(outcomes.poison)
        for topic, outcome in outcomes.counted:
            MESSAGES.labels(self._service, topic, outcome).inc()
        for bad in outcomes.poison:
            MESSAGES.labels(self._service, bad.raw.topic(), "dead_lettered").inc()
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

    def _claim(self, conn: sa.Connection, items: list[Decoded[U]]) -> set[Any]:
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


def _wait(stop: threading.Event, seconds: float) -> None:
    """Sleep between retries, but wake at once when the service is stopping."""
    stop.wait(seconds)


def _retriable(error: BaseException) -> bool:
    """Errors that say "not now" (database or another dependency down), never "not ever"."""
    return is_transient(error) or isinstance(error, RetryLater)
