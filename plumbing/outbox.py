"""The outbox relay: publishes committed outbox rows to Kafka, then deletes them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy.engine import Engine

from plumbing.db import is_transient
from plumbing.metrics import PUBLISHED

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """Kafka did not acknowledge every message of a relay batch."""


class OutboxRelay:
    """Moves outbox rows to Kafka in id order, in batches.

    A batch is taken with one ``DELETE … RETURNING`` (its rows locked ``FOR UPDATE``, so a second relay, e.g. a
    restart overlapping the old process, waits instead of publishing out of order); the deletion commits only
    after Kafka acknowledged every message, and is rolled back otherwise. A crash in between re-publishes the
    rows, and the consumers' inbox drops the copies.
    """

    def __init__(
        self,
        engine: Engine,
        outbox: sa.Table,
        new_producer: Callable[[], Producer],
        *,
        service: str = "",
        batch_size: int = 1000,
    ) -> None:
        self._service = service
        self._engine = engine
        self._outbox = outbox
        self._new_producer = new_producer
        self._producer = new_producer()
        self._batch_size = batch_size
        self._wake = threading.Event()
        self.published = 0
        o = outbox
        oldest = sa.select(o.c.id).order_by(o.c.id).limit(batch_size).with_for_update()
        self._take_rows = (
            sa.delete(o)
            .where(o.c.id.in_(oldest.scalar_subquery()))
            .returning(o.c.id, o.c.topic, o.c.key, o.c.value, o.c.headers)
        )

    def wake(self) -> None:
        """Tell the relay there are new rows (called after a commit that wrote some)."""
        self._wake.set()

    def run(self, stop: threading.Event, *, idle_poll_s: float = 0.25) -> None:
        """Relay until ``stop`` is set, then drain what is left."""
        backoff = 0.1
        while not stop.is_set():
            self._wake.wait(idle_poll_s)
            self._wake.clear()
            try:
                self.drain()
                backoff = 0.1
            except (PublishFailed, sa.exc.SQLAlchemyError) as error:
                if isinstance(error, sa.exc.SQLAlchemyError) and not is_transient(error):
                    raise
                log.warning("outbox relay: %s; retrying in %.1fs", error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        try:
            self.drain()
        except (PublishFailed, sa.exc.SQLAlchemyError) as error:
            log.warning("outbox relay: could not drain at shutdown (%s); rows stay for the next start", error)

    def drain(self) -> int:
        """Publish batches until the outbox is empty; returns how many messages were published."""
        total = 0
        while True:
            sent = self._relay_batch()
            total += sent
            if sent < self._batch_size:
                return total

    def _relay_batch(self) -> int:
        with self._engine.begin() as conn:
            rows = sorted(conn.execute(self._take_rows).all(), key=lambda row: row.id)  # RETURNING has no order
            if not rows:
                return 0
            failures: list[KafkaError] = []

            def on_delivery(error: KafkaError | None, _msg: Message) -> None:
                if error is not None:
                    failures.append(error)

            try:
                for row in rows:
                    self._produce(row, on_delivery)
            except KafkaException as error:
                failures.append(error.args[0])
            remaining = self._producer.flush(20.0)
            if any(error.fatal() for error in failures):
                # An idempotent producer that lost its sequence (e.g. the broker lost unflushed data in a
                # crash) is unusable: start a new one; the rows are still here and will be sent again.
                log.warning("outbox relay: fatal producer error %s; creating a new producer", failures[0])
                self._producer = self._new_producer()
            if failures or remaining:
                raise PublishFailed(f"{len(failures)} failed, {remaining} unacknowledged: {failures[:1]}")
        self.published += len(rows)
        for row in rows:
            PUBLISHED.labels(self._service, row.topic).inc()
        return len(rows)

    def _produce(self, row: Any, on_delivery: Any) -> None:
        headers = [(name, value.encode()) for name, value in row.headers.items()]
        while True:
            try:
                self._producer.produce(
                    row.topic, value=row.value, key=row.key, headers=headers, on_delivery=on_delivery
                )
                return
            except BufferError:
                self._producer.poll(0.05)
