"""What a service's consumer is doing, for ``/health``: its state, since when, why, and its partitions."""

from __future__ import annotations

import threading
import time
from typing import Any

from confluent_kafka import TopicPartition

STARTING = "starting"
"""Subscribed, no partitions assigned yet."""
RUNNING = "running"
"""Has partitions and applies what arrives."""
RETRYING = "retrying"
"""Has partitions, and retries a batch while a dependency (the database, Stripe) is unavailable."""
UNASSIGNED = "unassigned"
"""Was assigned partitions and has none now (revoked, lost, or more consumers than partitions)."""
FENCED = "fenced"
"""Kafka fenced the consumer or another fatal error made it unusable; it is about to be replaced."""
RESTARTING = "restarting"
"""A new consumer replaces one that hit a fatal error; it has no partitions yet."""
CRASHED = "crashed"
"""The consumer loop died; the process is being taken down (see ``plumbing.runtime``)."""
STOPPED = "stopped"
"""The service is shutting down."""

HEALTHY = frozenset({RUNNING, RETRYING})
"""States in which the consumer does its job (a retrying one waits on a dependency ``/health`` reports itself)."""


class ConsumerState:
    """Set by the consumer's thread, read by ``/health``'s (hence the lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = STARTING
        self._reason: str | None = None
        self._since = time.time()
        self._partitions: set[tuple[str, int]] = set()

    @property
    def state(self) -> str:
        """The current state (one of this module's constants)."""
        return self._state

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Partitions were assigned (added to any already held)."""
        with self._lock:
            self._partitions |= {(tp.topic, tp.partition) for tp in partitions}
            self._settle()

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Partitions were revoked or lost."""
        with self._lock:
            self._partitions -= {(tp.topic, tp.partition) for tp in partitions}
            self._settle()

    def retrying(self, why: str) -> None:
        """A batch waits for a dependency."""
        with self._lock:
            if self._state in HEALTHY:
                self._set(RETRYING, why)

    def applied(self) -> None:
        """A batch went through: no longer retrying."""
        if self._state == RETRYING:
            with self._lock:
                self._settle()

    def fenced(self, why: str) -> None:
        """A fatal consumer error: the consumer is unusable."""
        with self._lock:
            self._set(FENCED, why)

    def restarting(self, why: str) -> None:
        """A new consumer was created and subscribed; it holds no partitions yet."""
        with self._lock:
            self._partitions = set()
            self._set(RESTARTING, why)

    def crashed(self, why: str) -> None:
        """The loop died."""
        with self._lock:
            self._set(CRASHED, why)

    def stopped(self) -> None:
        """The loop ended because the service stops."""
        with self._lock:
            self._partitions = set()
            self._set(STOPPED, "the service is stopping")

    def problem(self) -> str | None:
        """Why the consumer is not doing its job, or None when it is."""
        with self._lock:
            if self._state in HEALTHY:
                return None
            return f"consumer {self._state}" + (f": {self._reason}" if self._reason else "")

    def snapshot(self) -> dict[str, Any]:
        """State, since (UNIX time), reason and partitions (``topic[partition]``, sorted), for ``/health``."""
        with self._lock:
            return {
                "state": self._state,
                "since": round(self._since, 3),
                "reason": self._reason,
                "partitions": [f"{topic}[{partition}]" for topic, partition in sorted(self._partitions)],
            }

    def _settle(self) -> None:
        """After an assignment change or a successful batch: running with partitions, else unassigned."""
        if self._state in (CRASHED, STOPPED):
            return
        if self._partitions:
            self._set(RUNNING, None)
        else:
            self._set(UNASSIGNED, "no partitions assigned")

    def _set(self, state: str, reason: str | None) -> None:
        if (state, reason) != (self._state, self._reason):
            self._state, self._reason, self._since = state, reason, time.time()
