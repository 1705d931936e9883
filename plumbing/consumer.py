"""The consumer loop: Kafka batches in, applied (``plumbing.batches``), offsets stored only after commit."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Generic

import sqlalchemy as sa
import tenacity
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Message as KafkaMessage

from plumbing.batches import BatchApplier, ConsumerStats, Limits, worth_waiting
from plumbing.consumer_state import CRASHED, ConsumerState
from plumbing.inbox import Inbox
from plumbing.metrics import ASSIGNED_PARTITIONS, BATCH_SECONDS, CONSUMER_LAG
from plumbing.routing import Routes
from plumbing.unit_of_work import Transactions, U

log = logging.getLogger(__name__)

__all__ = ["ConsumerLoop", "ConsumerStats", "Limits"]


class ConsumerLoop(Generic[U]):
    """Consumes ``routes``' topics and applies each message exactly once.

    Per batch: decode every message strictly (undecodable ones are dead-lettered), claim the message
    ids in the inbox (a redelivered command is answered with its recorded reply), run the handlers, write the
    outbox and commit, all in one transaction, handing the outbox rows to the relay as it commits; then store
    the offsets. Rebalance callbacks run inside ``poll``/``consume``, so between batches: a revoke commits the
    stored offsets of the partitions taken away (only a committed batch's offsets are ever stored) and drops
    the messages of those partitions fetched with the batch; a lost assignment commits nothing (another
    member may already own those partitions). A message that fails is isolated and dead-lettered (see
    ``plumbing.batches``). A database or Stripe outage retries the whole batch with backoff until it succeeds
    or the service stops. ``state`` tells ``/health`` what the loop is doing.
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
        limits: Limits | None = None,
        instance: str = "",
        rebalance_grace_s: float = 0.0,
        check_topics: Callable[[], dict[str, tuple[int, int]]] | None = None,
    ) -> None:
        self._service = service
        self.instance = instance
        self._check_topics = check_topics
        self.topics: dict[str, str] = {}
        """Consumed topics with fewer partitions than configured (checked at start-up), for ``/health``."""
        self._stored: dict[tuple[str, int], int] = {}
        self._gone: set[tuple[str, int]] = set()
        self._new_consumer = new_consumer
        self._consumer = new_consumer()
        self._topics = list(routes)
        self._batch_size = batch_size
        self._poll_timeout_s = poll_timeout_s
        self.stats = ConsumerStats()
        self.state = ConsumerState(rebalance_grace_s)
        self._applier = BatchApplier(
            service=service,
            units=transactions,
            inbox=Inbox(inbox),
            routes=routes,
            limits=limits or Limits(),
            stats=self.stats,
        )
        self._fatal: str | None = None
        self._next_lag_update = 0.0

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then commit stored offsets and close the consumer."""
        retrying = self._retrying(stop)  # built once: a Retrying per batch cost more than the retry logic itself
        try:
            self._report_topics()
            self._subscribe()
            while not stop.is_set():
                batch = [m for m in self._next_batch() if self._usable(m)]
                if time.monotonic() >= self._next_lag_update:
                    self._update_lag()
                    self._next_lag_update = time.monotonic() + 2.0
                if self._fatal:
                    self._replace_consumer(self._fatal)
                    continue
                if not batch:
                    continue
                try:
                    with BATCH_SECONDS.labels(self._service).time():
                        retrying(self._applier.apply, batch, stop)
                except tenacity.RetryError:
                    return  # stopping while the database is down: offsets stay, the batch comes again
                self.stats.batches += 1
                self.state.applied()
                self._store_offsets(batch)
        except BaseException as error:
            self.state.crashed(repr(error)[:500])
            raise
        finally:
            self._close()

    def _subscribe(self) -> None:
        self._fatal = None
        self._stored.clear()
        self._consumer.subscribe(
            self._topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )

    def _report_topics(self) -> None:
        """Warn about consumed topics with fewer partitions than configured (fewer useful instances, no failure)."""
        if self._check_topics is None:
            return
        try:
            short = self._check_topics()
        except KafkaException as error:
            log.warning("%s: could not check the topics' partitions: %s", self._service, error)
            return
        self.topics = {
            name: f"{now} partitions, configured {wanted} (python -m infra.topics raise)" if now else "missing"
            for name, (now, wanted) in short.items()
            if name in self._topics
        }
        for name, problem in self.topics.items():
            log.warning("%s: topic %s: %s", self._service, name, problem)

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.state.assigned(partitions)
        self._count_partitions()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Commit what was stored for the revoked partitions now, so their next owner starts right after the
        last committed batch; their messages fetched with the batch being read are dropped."""
        keys = [(tp.topic, tp.partition) for tp in partitions]
        offsets = [TopicPartition(t, p, self._stored[t, p]) for t, p in keys if (t, p) in self._stored]
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as error:  # their next owner gets those messages again; the inbox drops them
                log.warning("%s: committing the revoked partitions' offsets failed: %s", self._service, error)
        self._forget(keys)
        self.state.revoked(partitions)
        self._count_partitions()

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """The assignment was lost (e.g. the session timed out): another member may own the partitions already,
        so nothing is committed; their messages come again to their owner, whose inbox drops those applied."""
        self._forget([(tp.topic, tp.partition) for tp in partitions])
        self.state.revoked(partitions, why="lost")
        self._count_partitions()

    def _forget(self, keys: list[tuple[str, int]]) -> None:
        for key in keys:
            self._stored.pop(key, None)
        self._gone.update(keys)

    def _count_partitions(self) -> None:
        ASSIGNED_PARTITIONS.labels(self._service, self.instance).set(len(self.state.partitions))

    def _replace_consumer(self, why: str) -> None:
        """A fatal consumer error (e.g. fenced after a broker restart) leaves the client unusable: start anew.

        Offsets stored but not yet committed are lost with it; those messages come again and the inbox
        drops them (answering commands with their recorded replies).
        """
        log.warning("%s: replacing the Kafka consumer after a fatal error (%s)", self._service, why)
        with contextlib.suppress(KafkaException, RuntimeError):
            self._consumer.close()
        self._consumer = self._new_consumer()
        self.state.restarting(f"replacing the Kafka consumer after: {why}")
        self._count_partitions()
        self._subscribe()

    def _next_batch(self) -> list[KafkaMessage]:
        """Block for the first message only, then take whatever else is already fetched.

        ``consume(n, timeout)`` alone would wait the whole timeout whenever fewer than n messages are
        there, adding that wait to every hop of every saga.
        """
        self._gone.clear()
        try:
            first = self._consumer.poll(self._poll_timeout_s)
            if first is None:
                return []
            batch = [first, *self._consumer.consume(self._batch_size - 1, 0)]
            return self._held(batch) if self._gone else batch
        except KafkaException as error:  # the client raises only when it is unusable
            self._fatal = str(error)
            self.state.fenced(self._fatal)
            return []

    def _held(self, batch: list[KafkaMessage]) -> list[KafkaMessage]:
        """The batch without the messages of partitions revoked or lost while it was fetched (and not assigned
        again since): their new owner reads them from the last committed offset."""
        held = self.state.partitions
        return [
            m
            for m in batch
            if m.error() is not None or (key := (m.topic() or "", m.partition() or 0)) not in self._gone or key in held
        ]

    def _retrying(self, stop: threading.Event) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(worth_waiting),
            wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=5.0),
            stop=tenacity.stop_when_event_set(stop),
            sleep=lambda seconds: _wait(stop, seconds),
            before_sleep=self._before_retry,
        )

    def _before_retry(self, retry: tenacity.RetryCallState) -> None:
        error = retry.outcome and retry.outcome.exception()
        log.warning("%s: a dependency is unavailable (%s); retrying the batch", self._service, error)
        self.state.retrying(f"a dependency is unavailable: {error!r}"[:500])

    def _usable(self, message: KafkaMessage) -> bool:
        error = message.error()
        if error is None:
            return True
        # The fatal event itself arrives with code _FATAL (its fatal() flag is not always set).
        if error.fatal() or error.code() == KafkaError._FATAL:
            self._fatal = str(error)
            self.state.fenced(self._fatal)
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("%s: consumer error %s", self._service, error)
        return False

    def _update_lag(self) -> None:
        """Per partition: the high watermark minus our position (from librdkafka's cached fetch state)."""
        try:
            for tp in self._consumer.position(self._consumer.assignment()):
                _low, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset >= 0 and high >= 0:
                    CONSUMER_LAG.labels(self._service, tp.topic, str(tp.partition)).set(max(high - tp.offset, 0))
        except KafkaException as error:
            log.debug("%s: lag not available: %s", self._service, error)

    def _store_offsets(self, batch: list[KafkaMessage]) -> None:
        last: dict[tuple[str, int], int] = {}
        for message in batch:
            key = (message.topic() or "", message.partition() or 0)
            last[key] = max(last.get(key, -1), message.offset() or 0)
        try:
            self._consumer.store_offsets(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()])
            self._stored.update({key: offset + 1 for key, offset in last.items()})
        except KafkaException as error:
            # E.g. the partition was revoked meanwhile: its messages come again and the inbox drops them.
            log.warning("%s: could not store offsets (%s)", self._service, error)

    def _close(self) -> None:
        if self.state.state != CRASHED:
            self.state.stopped()
        self._count_partitions()
        try:
            self._consumer.commit(asynchronous=False)
        except Exception as error:  # nothing stored since the last auto-commit is a normal outcome
            log.info("%s: final offset commit: %s", self._service, error)
        with contextlib.suppress(KafkaException, RuntimeError):
            self._consumer.close()


def _wait(stop: threading.Event, seconds: float) -> None:
    """Sleep between retries, but wake at once when the service is stopping."""
    stop.wait(seconds)
