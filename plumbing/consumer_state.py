"""What a service's consumer is doing, for ``/health``: its state, since when, why, and its partitions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import TopicPartition

STARTING = "starting"
"""Subscribed, no partitions assigned yet."""
RUNNING = "running"
"""Has partitions and applies what arrives."""
RETRYING = "retrying"
"""Has partitions, and retries a batch while a dependency (the database, Stripe) is unavailable."""
UNASSIGNED = "unassigned"
"""Had partitions and lost or gave them all up; the rebalance that follows has not given it any yet. Healthy for
``rebalance_grace_s`` (a rebalance takes a few seconds), then ``/health`` says 503."""
STANDBY = "standby"
"""A rebalance ended and gave it no partition: more instances than partitions. Healthy: it takes over partitions
when another instance leaves."""
FENCED = "fenced"
"""Kafka fenced the consumer or another fatal error made it unusable; it is about to be replaced."""
RESTARTING = "restarting"
"""A new consumer replaces one that hit a fatal error; it has no partitions yet."""
CRASHED = "crashed"
"""The consumer loop died; the process is being taken down (see ``plumbing.runtime``)."""
STOPPED = "stopped"
"""The service is shutting down."""

HEALTHY = frozenset({RUNNING, RETRYING, STANDBY})
"""States in which the consumer does its job (a retrying one waits on a dependency ``/health`` reports itself)."""


class ConsumerState:
    """Set by the consumer's thread, read by ``/health``'s (hence the lock)."""

    def __init__(self, rebalance_grace_s: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._grace_s = rebalance_grace_s
        self._clock = clock
        self._state = STARTING
        self._reason: str | None = None
        self._since = clock()
        self._unassigned_since: float | None = self._since
        self._partitions: set[tuple[str, int]] = set()

    @property
    def state(self) -> str:
        """The current state (one of this module's constants)."""
        return self._state

    @property
    def partitions(self) -> frozenset[tuple[str, int]]:
        """The (topic, partition) pairs held now."""
        with self._lock:
            return frozenset(self._partitions)

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """A rebalance ended, adding ``partitions`` (possibly none) to those already held."""
        with self._lock:
            self._partitions |= {(tp.topic, tp.partition) for tp in partitions}
            self._settle(rebalanced=True)

    def revoked(self, partitions: list[TopicPartition], why: str = "revoked") -> None:
        """Partitions were revoked or lost (``why``); a rebalance is under way."""
        with self._lock:
            self._partitions -= {(tp.topic, tp.partition) for tp in partitions}
            self._settle(rebalanced=False, why=why)

    def retrying(self, why: str) -> None:
        """A batch waits for a dependency."""
        with self._lock:
            if self._state in HEALTHY:
                self._set(RETRYING, why)

    def applied(self) -> None:
        """A batch went through: no longer retrying."""
        if self._state == RETRYING:
            with self._lock:
                self._settle(rebalanced=False)

    def fenced(self, why: str) -> None:
        """A fatal consumer error: the consumer is unusable."""
        with self._lock:
            self._set(FENCED, why)

    def restarting(self, why: str) -> None:
        """A new consumer was created and subscribed; it holds no partitions yet."""
        with self._lock:
            self._drop_all()
            self._set(RESTARTING, why)

    def crashed(self, why: str) -> None:
        """The loop died."""
        with self._lock:
            self._set(CRASHED, why)

    def stopped(self) -> None:
        """The loop ended because the service stops."""
        with self._lock:
            self._drop_all()
            self._set(STOPPED, "the service is stopping")

    def problem(self) -> str | None:
        """Why the consumer is not doing its job, or None when it is."""
        with self._lock:
            if self._state in HEALTHY:
                return None
            if self._state == UNASSIGNED and self._clock() - self._since < self._grace_s:
                return None  # a rebalance is under way
            return f"consumer {self._state}" + (f": {self._reason}" if self._reason else "")

    def snapshot(self) -> dict[str, Any]:
        """State, since (UNIX time), reason, partitions (``topic[partition]``, sorted) and since when it holds none
        (None while it holds some), for ``/health``."""
        with self._lock:
            return {
                "state": self._state,
                "since": round(self._since, 3),
                "reason": self._reason,
                "unassigned_since": None if self._unassigned_since is None else round(self._unassigned_since, 3),
                "partitions": [f"{topic}[{partition}]" for topic, partition in sorted(self._partitions)],
            }

    def _settle(self, *, rebalanced: bool, why: str = "revoked") -> None:
        """After an assignment change or a successful batch: running with partitions; without, standby when a
        rebalance ended giving it none, else unassigned (waiting for the rebalance)."""
        if self._state in (CRASHED, STOPPED):
            return
        if self._partitions:
            self._unassigned_since = None
            self._set(RUNNING, None)
            return
        if self._unassigned_since is None:
            self._unassigned_since = self._clock()
        if rebalanced:
            self._set(STANDBY, "no partitions assigned: more instances than partitions")
        elif self._state != STANDBY:
            self._set(UNASSIGNED, "no partitions assigned" if why == "revoked" else f"no partitions assigned ({why})")

    def _drop_all(self) -> None:
        if self._partitions or self._unassigned_since is None:
            self._unassigned_since = self._clock()
        self._partitions = set()

    def _set(self, state: str, reason: str | None) -> None:
        if (state, reason) != (self._state, self._reason):
            self._state, self._reason, self._since = state, reason, self._clock()
