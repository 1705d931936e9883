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
from plumbing.metrics import BATCH_SECONDS, CONSUMER_LAG
from plumbing.routing import Routes
from plumbing.unit_of_work import Transactions, U

log = logging.getLogger(__name__)

__all__ = ["ConsumerLoop", "ConsumerStats", "Limits"]


class ConsumerLoop(Generic[U]):
    """Consumes ``routes``' topics and applies each message exactly once.

    Per batch: decode every message strictly (undecodable ones are dead-lettered), claim the message
    ids in the inbox (a redelivered command is answered with its recorded reply), run the handlers, write the
    outbox and commit, all in one transaction, handing the outbox rows to the relay as it commits; then store
    the offsets. A message that fails is isolated and dead-lettered (see ``plumbing.batches``). A database or
    Stripe outage retries the whole batch with backoff until it succeeds or the service stops. ``state``
    tells ``/health`` what the loop is doing.
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
    ) -> None:
        self._service = service
        self._new_consumer = new_consumer
        self._consumer = new_consumer()
        self._topics = list(routes)
        self._batch_size = batch_size
        self._poll_timeout_s = poll_timeout_s
        self.stats = ConsumerStats()
        self.state = ConsumerState()
        self._applier = BatchApplier(
            service=service,
            units=transactions,
            inbox=Inbox(inbox),
            routes=routes,
            limits=limits or Limits.from_env(),
            stats=self.stats,
        )
        self._fatal: str | None = None
        self._next_lag_update = 0.0

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then commit stored offsets and close the consumer."""
        try:
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
                        self._retrying(stop)(self._applier.apply, batch, stop)
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
        self._consumer.subscribe(
            self._topics,
            on_assign=lambda _c, partitions: self.state.assigned(partitions),
            on_revoke=lambda _c, partitions: self.state.revoked(partitions),
            on_lost=lambda _c, partitions: self.state.revoked(partitions),
        )

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
        self._subscribe()

    def _next_batch(self) -> list[KafkaMessage]:
        """Block for the first message only, then take whatever else is already fetched.

        ``consume(n, timeout)`` alone would wait the whole timeout whenever fewer than n messages are
        there, adding that wait to every hop of every saga.
        """
        try:
            first = self._consumer.poll(self._poll_timeout_s)
            if first is None:
                return []
            return [first, *self._consumer.consume(self._batch_size - 1, 0)]
        except KafkaException as error:  # the client raises only when it is unusable
            self._fatal = str(error)
            self.state.fenced(self._fatal)
            return []

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
        except KafkaException as error:
            # E.g. the partition was revoked meanwhile: its messages come again and the inbox drops them.
            log.warning("%s: could not store offsets (%s)", self._service, error)

    def _close(self) -> None:
        if self.state.state != CRASHED:
            self.state.stopped()
        try:
            self._consumer.commit(asynchronous=False)
        except Exception as error:  # nothing stored since the last auto-commit is a normal outcome
            log.info("%s: final offset commit: %s", self._service, error)
        with contextlib.suppress(KafkaException, RuntimeError):
            self._consumer.close()


def _wait(stop: threading.Event, seconds: float) -> None:
    """Sleep between retries, but wake at once when the service is stopping."""
    stop.wait(seconds)
