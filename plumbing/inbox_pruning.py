"""Inbox retention: a worker that deletes the inbox rows older than the redelivery window, a bounded batch at a
time, in every service (see "Inbox retention" in docs/reliability.md for why the window is long enough)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from plumbing.db import is_transient
from plumbing.inbox import Inbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    """How long inbox rows are kept, and how the pruning goes (``RV_INBOX_RETENTION_S`` and
    ``RV_INBOX_PRUNE_EVERY_S`` in the service's settings)."""

    keep_s: float = 6 * 3600.0
    """Rows applied longer ago than this are deleted."""
    every_s: float = 300.0
    """Time between prunes, and before the first one after start."""
    batch: int = 5000
    """Rows per ``DELETE`` (and per transaction), so no prune holds many locks or runs long."""


class InboxPruner:
    """Every ``Retention.every_s`` (the first time one period after start, once the consumer has re-read what
    it had applied but not yet committed offsets for), deletes the rows older than ``Retention.keep_s`` in
    bounded batches until none is left. Several instances of a service prune one inbox together: each batch
    skips the rows another instance's batch holds."""

    def __init__(self, engine: Engine, inbox: sa.Table, retention: Retention) -> None:
        self._engine = engine
        self._inbox = Inbox(inbox)
        self._retention = retention
        self.pruned = 0
        """Rows deleted since start."""
        self.failed = 0
        """Prunes that failed since start (each retried at the next period)."""

    def run(self, stop: threading.Event) -> None:
        """Prune until ``stop`` is set. A failed prune is logged and tried again at the next period: an inbox
        pruned late costs disk, a worker that stops takes the whole service down."""
        while not stop.wait(self._retention.every_s):
            try:
                self.prune(stop)
            except sa.exc.SQLAlchemyError as error:
                self.failed += 1
                if is_transient(error):
                    log.warning(
                        "inbox pruning: database unavailable (%s); next try in %.0f s", error, self._retention.every_s
                    )
                else:  # e.g. a statement timeout on a huge inbox; the next prune's batch may well pass
                    log.exception("inbox pruning failed; next try in %.0f s", self._retention.every_s)

    def prune(self, stop: threading.Event | None = None) -> int:
        """Delete every row older than the retention, a batch per transaction; returns how many."""
        total = 0
        while stop is None or not stop.is_set():
            with self._engine.begin() as conn:
                deleted = self._inbox.prune(conn, older_than_s=self._retention.keep_s, limit=self._retention.batch)
            total += deleted
            if deleted < self._retention.batch:
                break
        self.pruned += total
        if total:
            log.info("inbox pruning: deleted %d rows applied more than %.0f s ago", total, self._retention.keep_s)
        return total
