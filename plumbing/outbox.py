"""The outbox relay: publishes committed outbox rows to Kafka, then deletes them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from plumbing.db import is_transient
from plumbing.metrics import PUBLISHED

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """Kafka did not acknowledge every message of a relay batch."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One message waiting in the outbox: its row id and what goes to Kafka."""

    id: int
    topic: str
    key: str | None
    value: bytes
    headers: dict[str, str]


HandOver = Callable[[Callable[[], None], list[OutboxRow]], None]
"""``hand_over(commit, rows)``: commit a transaction that wrote ``rows`` to the outbox, and pass them on."""


class OutboxRelay:
    """Moves committed outbox rows to Kafka, and deletes each row once Kafka acknowledged its message.

    Two ways in:

    - **Handed over** (the hot path): the consumer loop and every ``Transactions`` unit of work commit through
      ``hand_over``, which gives the relay the rows they just committed. The relay publishes them without
      reading them back, and deletes the acknowledged ones later, many at once (one ``DELETE … = ANY(ids)``
      per ``delete_after_s`` or ``batch_size`` rows). The commit and the hand-over happen under one lock,
      so the rows reach the producer in commit order, and one saga's messages (whose transactions lock the
      saga's row) leave in the order they were decided.
    - **Found by a scan**: rows nobody handed over (written before a crash or a failed publish, by the start-up
      seeding, or by another process). A scan takes the oldest rows with one ``DELETE … RETURNING`` (locked
      ``FOR UPDATE``, so an overlapping relay waits), leaving out rows already handed over; the deletion
      commits only after Kafka acknowledged every message. It runs at start, after a failed publish, and
      every ``scan_every_s``.

    Either way a row is deleted only after its message was acknowledged; a crash in between publishes it
    again, and the consumers' inbox drops the copy.
    """

    def __init__(
        self,
        engine: Engine,
        outbox: sa.Table,
        new_producer: Callable[[], Producer],
        *,
        service: str = "",
        batch_size: int = 1000,
        delete_after_s: float = 0.2,
        scan_every_s: float = 1.0,
    ) -> None:
        self._service = service
        self._engine = engine
        self._new_producer = new_producer
        self._producer = new_producer()
        self._batch_size = batch_size
        self._delete_after_s = delete_after_s
        self._scan_every_s = scan_every_s
        self._wake = threading.Event()
        self._commit_order = threading.Lock()
        self._handed_lock = threading.Lock()
        self._handed: list[OutboxRow] = []
        self._acked: list[int] = []
        self._acked_since = 0.0
        self._scan_due = True  # rows an earlier process may have left
        self._next_scan = 0.0
        self.published = 0
        o = outbox
        ids = sa.bindparam("ids", type_=ARRAY(sa.BigInteger))
        oldest = sa.select(o.c.id).where(o.c.id != sa.all_(ids)).order_by(o.c.id).limit(batch_size).with_for_update()
        self._take_rows = (
            sa.delete(o)
            .where(o.c.id.in_(oldest.scalar_subquery()))
            .returning(o.c.id, o.c.topic, o.c.key, o.c.value, o.c.headers)
        )
        self._delete_ids = sa.delete(o).where(o.c.id == sa.any_(ids))

    def hand_over(self, commit: Callable[[], None], rows: list[OutboxRow]) -> None:
        """Commit, then queue the committed ``rows`` for publishing (a ``HandOver``)."""
        if not rows:
            commit()
            return
        with self._commit_order:
            commit()
            with self._handed_lock:
                self._handed += rows
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set, then publish and delete everything left."""
        backoff = 0.1
        while not stop.is_set():
            self._wake.wait(self._idle_wait_s())
            self._wake.clear()
            try:
                self._step()
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
        """Publish everything handed over or left in the outbox, and delete it; returns how many were published."""
        before = self.published
        self._publish_handed()
        self._delete_acked()
        self._scan()
        return self.published - before

    def _idle_wait_s(self) -> float:
        now = time.monotonic()
        deadlines = [self._next_scan] + ([self._acked_since + self._delete_after_s] if self._acked else [])
        return max(min(deadlines) - now, 0.0)

    def _step(self) -> None:
        self._publish_handed()
        now = time.monotonic()
        scan = self._scan_due or now >= self._next_scan
        if self._acked and (scan or self._delete_due(now)):
            self._delete_acked()
        if scan:
            self._scan()

    def _delete_due(self, now: float) -> bool:
        return len(self._acked) >= self._batch_size or now - self._acked_since >= self._delete_after_s

    def _publish_handed(self) -> None:
        with self._handed_lock:
            rows, self._handed = self._handed, []
        if not rows:
            return
        acked, failures = self._publish(rows)
        if not self._acked:
            self._acked_since = time.monotonic()
        self._acked += acked
        if failures:
            self._scan_due = True  # the unacknowledged rows are still in the outbox: a scan sends them again
            raise PublishFailed(f"{len(failures)} of {len(rows)} not acknowledged: {failures[:1]}")

    def _delete_acked(self) -> None:
        if not self._acked:
            return
        with self._engine.begin() as conn:
            conn.execute(self._delete_ids, {"ids": self._acked})
        self._acked = []

    def _scan(self) -> None:
        """Publish the rows nobody handed over, oldest first, until none is left."""
        if self._acked:
            return  # acknowledged rows must be gone first, or the scan would send them again
        while self._scan_batch() == self._batch_size:
            pass
        self._scan_due = False
        self._next_scan = time.monotonic() + self._scan_every_s

    def _scan_batch(self) -> int:
        with self._handed_lock:
            handed = [row.id for row in self._handed]
        with self._engine.begin() as conn:
            found = conn.execute(self._take_rows, {"ids": handed}).all()
            rows = sorted((OutboxRow(r.id, r.topic, r.key, r.value, r.headers) for r in found), key=lambda r: r.id)
            if not rows:
                return 0
            _acked, failures = self._publish(rows)
            if failures:
                raise PublishFailed(f"{len(failures)} of {len(rows)} not acknowledged: {failures[:1]}")
        return len(rows)

    def _publish(self, rows: list[OutboxRow]) -> tuple[list[int], list[Any]]:
        """Produce ``rows`` in order and wait for Kafka; returns the acknowledged ids and the failures."""
        acked: list[int] = []
        failures: list[Any] = []

        def on_delivery(row_id: int) -> Callable[[KafkaError | None, Message], None]:
            def delivered(error: KafkaError | None, _msg: Message) -> None:
                if error is None:
                    acked.append(row_id)
                else:
                    failures.append(error)

            return delivered

        try:
            for row in rows:
                self._produce(row, on_delivery(row.id))
        except KafkaException as error:
            failures.append(error.args[0])
        remaining = self._producer.flush(20.0)
        if any(isinstance(error, KafkaError) and error.fatal() for error in failures):
            # An idempotent producer that lost its sequence (e.g. the broker lost unflushed data in a
            # crash) is unusable: start a new one; the rows are still in the outbox and will be sent again.
            log.warning("outbox relay: fatal producer error %s; creating a new producer", failures[0])
            self._producer = self._new_producer()
        if remaining:
            failures.append(f"{remaining} unacknowledged")
        delivered = set(acked)
        self._count(row for row in rows if row.id in delivered)
        return acked, failures

    def _count(self, rows: Iterable[OutboxRow]) -> None:
        for row in rows:
            self.published += 1
            PUBLISHED.labels(self._service, row.topic).inc()

    def _produce(self, row: OutboxRow, on_delivery: Any) -> None:
        headers: list[tuple[str, str | bytes | None]] = [(name, value.encode()) for name, value in row.headers.items()]
        while True:
            try:
                self._producer.produce(
                    row.topic, value=row.value, key=row.key, headers=headers, on_delivery=on_delivery
                )
                return
            except BufferError:
                self._producer.poll(0.05)
