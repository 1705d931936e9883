"""The outbox relay: publishes committed outbox rows to Kafka, then deletes them (or parks the ones Kafka refuses)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import sqlalchemy as sa
from confluent_kafka import Producer
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine

from plumbing.db import is_transient, planned_now
from plumbing.json_rows import Deferred
from plumbing.outbox_publisher import Delivery, Publisher
from plumbing.outbox_rows import OutboxRow
from plumbing.parked import park

__all__ = ["HandOver", "OutboxRelay", "OutboxRow", "Outgoing", "PublishFailed"]

log = logging.getLogger(__name__)


STOP_CHECK_S = 1.0
"""The longest the relay sleeps without looking whether it is to stop."""


class PublishFailed(Exception):
    """Kafka did not acknowledge every message of a relay batch."""


class Outgoing(Protocol):
    """A unit of work as a hand-over sees it (``plumbing.unit_of_work.UnitOfWork``)."""

    written: list[OutboxRow]
    """The rows ``flush`` wrote to the outbox, with their ids."""

    def defer(self, write: Deferred, rows: Iterable[Any]) -> None:
        """Queue a write whose result nobody reads, sent with the outbox insert."""
        ...

    def flush(self) -> int:
        """Write the queued rows and deferred writes (one statement)."""
        ...


HandOver = Callable[[Callable[[], None], Outgoing], None]
"""``hand_over(commit, uow)``: flush ``uow`` (its outbox rows), ``commit`` its transaction, and pass the rows it
wrote on."""


class OutboxRelay:
    """Moves committed outbox rows to Kafka, and deletes each row once Kafka acknowledged its message.

    Two ways in:

    - **Handed over** (the hot path): the consumer loop and every ``Transactions`` unit of work commit through
      ``hand_over``, which gives the relay the rows they just committed. The relay publishes them without
      reading them back, and deletes the acknowledged ones later, many at once (one ``DELETE … = ANY(ids)``) in
      a transaction of its own, ``delete_after_s`` after the first of them was acknowledged or once
      ``batch_size`` are waiting; that transaction plans its statement for the outbox as it is then
      (``plumbing.db.planned_now``: the table swings between empty and a backlog of thousands of rows, and a
      plan cached while it was empty ran for minutes against the backlog). The commit and the hand-over happen
      under one lock, so the rows reach the producer in commit order, and one saga's messages (whose
      transactions lock the saga's row) leave in the order they were decided.
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
        # Ids of published rows not yet deleted: waiting (``_acked``), or being deleted by a transaction that has
        # not committed yet (``_settling``); under ``_handed_lock``, as the scans read them with ``_handed``.
        self._acked: list[int] = []
        self._settling: set[int] = set()
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
        # Rows another relay's scan holds (it published them again and deletes them itself) are skipped, not
        # waited for; a scan's own rows are not skipped (its transaction holds their locks).
        self._delete_ids = sa.delete(o).where(
            o.c.id.in_(sa.select(o.c.id).where(o.c.id == sa.any_(ids)).with_for_update(skip_locked=True))
        )

    @property
    def published(self) -> int:
        """How many messages Kafka acknowledged since start."""
        return self._publisher.published

    def hand_over(self, commit: Callable[[], None], uow: Outgoing) -> None:
        """Flush ``uow``, commit, then queue the rows it wrote for publishing (a ``HandOver``)."""
        uow.flush()
        rows = uow.written
        if not rows:
            commit()
            return
        with self._commit_order:
            commit()
            with self._handed_lock:
                self._handed += rows
        self._wake.set()

    def _take_acked(self) -> list[int]:
        """The acknowledged rows' ids, to delete: held back from other deletes and from scans until the
        transaction deleting them ends (``_not_deleted`` if it fails)."""
        with self._handed_lock:
            ids, self._acked = self._acked, []
            self._settling.update(ids)
        return ids

    def _not_deleted(self, ids: list[int]) -> None:
        if not ids:
            return
        with self._handed_lock:
            self._settling.difference_update(ids)
            if not self._acked:
                self._acked_since = time.monotonic()
            self._acked += ids

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set, then publish and delete everything left."""
        backoff = 0.1
        while not stop.is_set():
            self._wake.wait(min(self._idle_wait_s(), STOP_CHECK_S))
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
        with self._handed_lock:
            deadlines = [self._next_scan] + ([self._acked_since + self._delete_after_s] if self._acked else [])
        return max(min(deadlines) - now, 0.0)

    def _step(self) -> None:
        self._publish_handed()
        now = time.monotonic()
        scan = self._scan_due or now >= self._next_scan
        if scan or self._delete_due(now):
            self._delete_acked()
        if scan:
            self._scan()

    def _delete_due(self, now: float) -> bool:
        with self._handed_lock:
            waiting = len(self._acked)
            return bool(waiting) and (waiting >= self._batch_size or now - self._acked_since >= self._delete_after_s)

    def _publish_handed(self) -> None:
        with self._handed_lock:
            rows, self._handed = self._handed, []
        if not rows:
            return
        delivery = self._publisher.publish(rows)
        with self._handed_lock:
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
        """Delete the acknowledged rows, in a transaction of their own."""
        settling = self._take_acked()
        if not settling:
            return
        try:
            with self._engine.begin() as conn:
                planned_now(conn)
                conn.execute(self._delete_ids, {"ids": settling})
        except BaseException:
            self._not_deleted(settling)
            raise
        with self._handed_lock:
            self._settling.difference_update(settling)

    def _scan(self) -> None:
        """Publish the rows nobody handed over, oldest first, each at most once per scan."""
        after: int | None = 0
        while after is not None:
            after = self._scan_batch(after)
        self._scan_due = False
        self._next_scan = time.monotonic() + self._scan_every_s

    def _scan_batch(self, after: int) -> int | None:
        """Publish one batch of the rows after id ``after``; the id to go on from, or None when done."""
        with self._engine.begin() as conn:
            planned_now(conn)
            # No commit between reading the handed ids and the SELECT, or its rows would be published twice;
            # rows published already but not deleted yet are left out too.
            with self._commit_order, self._handed_lock:
                known = [row.id for row in self._handed] + self._acked + list(self._settling)
                found = conn.execute(self._take_rows, {"ids": known, "after": after}).all()
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
