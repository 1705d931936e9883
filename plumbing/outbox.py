"""The outbox relay: publishes committed outbox rows to Kafka, then deletes them (or parks the ones Kafka refuses)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from confluent_kafka import Producer
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine

from plumbing.db import is_transient
from plumbing.outbox_publisher import Delivery, Publisher
from plumbing.outbox_rows import OutboxRow
from plumbing.parked import park

__all__ = ["HandOver", "OutboxRelay", "OutboxRow", "PublishFailed"]

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """Kafka did not acknowledge every message of a relay batch."""


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
      seeding, or by another process). A scan walks the outbox oldest first, a batch at a time, each batch
      locked ``FOR UPDATE SKIP LOCKED`` and leaving out rows already handed over; it deletes the acknowledged
      rows in the batch's transaction. Several instances of a service share one outbox: a relay skips the rows
      another relay's scan holds, so no row is published by two scans at once (once deleted, it is gone for
      both), and the relays split a backlog between them instead of waiting for each other. The price: two
      scans may send rows of one key out of id order across their batches (only with a backlog larger than a
      batch); consumers already tolerate that, as they tolerate copies. It runs at start, after a failed
      publish, and every ``scan_every_s``.

    Either way a row is deleted only after its message was acknowledged; a crash in between publishes it
    again, and the consumers' inbox drops the copy. A row Kafka refuses for good (see ``plumbing.refusals``:
    too large, a topic that stays missing, ...) is moved to ``outbox_parked`` in one transaction and the rows
    behind it go on; a row whose topic is missing waits in the outbox for the next scans until it is parked.
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
        self._engine = engine
        self._outbox = outbox
        self._publisher = Publisher(new_producer, service=service)
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
        o = outbox
        ids = sa.bindparam("ids", type_=ARRAY(sa.BigInteger))
        self._take_rows = (
            sa.select(o.c.id, o.c.topic, o.c.key, o.c.value, o.c.headers)
            .where(o.c.id > sa.bindparam("after"), o.c.id != sa.all_(ids))
            .order_by(o.c.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        self._delete_ids = sa.delete(o).where(o.c.id == sa.any_(ids))

    @property
    def published(self) -> int:
        """How many messages Kafka acknowledged since start."""
        return self._publisher.published

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
        delivery = self._publisher.publish(rows)
        if not self._acked:
            self._acked_since = time.monotonic()
        self._acked += delivery.acked
        if delivery.parked:
            with self._engine.begin() as conn:
                park(conn, self._outbox, delivery.parked)
        # Held rows (topic still missing) stay in the outbox: the next scan tries them again.
        if delivery.failures:
            self._scan_due = True  # the unacknowledged rows are still in the outbox: a scan sends them again
            raise _failed(delivery, len(rows))

    def _delete_acked(self) -> None:
        if not self._acked:
            return
        with self._engine.begin() as conn:
            conn.execute(self._delete_ids, {"ids": self._acked})
        self._acked = []

    def _scan(self) -> None:
        """Publish the rows nobody handed over, oldest first, each at most once per scan."""
        if self._acked:
            return  # acknowledged rows must be gone first, or the scan would send them again
        after: int | None = 0
        while after is not None:
            after = self._scan_batch(after)
        self._scan_due = False
        self._next_scan = time.monotonic() + self._scan_every_s

    def _scan_batch(self, after: int) -> int | None:
        """Publish one batch of the rows after id ``after``; the id to go on from, or None when done."""
        with self._engine.begin() as conn:
            # No commit between reading the handed ids and the SELECT, or its rows would be published twice.
            with self._commit_order, self._handed_lock:
                handed = [row.id for row in self._handed]
                found = conn.execute(self._take_rows, {"ids": handed, "after": after}).all()
            rows = [OutboxRow(r.id, r.topic, r.key, r.value, r.headers) for r in found]
            if not rows:
                return None
            delivery = self._publisher.publish(rows)
            self._settle(conn, delivery)
        if delivery.failures:
            raise _failed(delivery, len(rows))
        return rows[-1].id if len(rows) == self._batch_size else None

    def _settle(self, conn: Connection, delivery: Delivery) -> None:
        """In the scan's transaction: delete what Kafka acknowledged and park what it refused for good."""
        if delivery.acked:
            conn.execute(self._delete_ids, {"ids": delivery.acked})
        if delivery.parked:
            park(conn, self._outbox, delivery.parked)


def _failed(delivery: Delivery, batch: int) -> PublishFailed:
    return PublishFailed(f"{len(delivery.failures)} of {batch} not acknowledged: {delivery.failures[:1]}")
