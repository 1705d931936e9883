"""Group commit: concurrent callers' pieces of work share one transaction, each answered with its own outcome.

One group runs at a time. The first caller to arrive leads a group: it waits until the group before it has
finished (callers arriving meanwhile join its group: under load groups grow by themselves, and a caller that
finds nothing running starts at once), then up to ``window_s`` more for others to join (or until the group is
full), then runs ``together`` on every member's item in one transaction and hands each member its outcome;
``together`` enters ``scope(item)`` around each item's own work (e.g. the messages it sends), which makes that
member's trace context current, so an item's messages join its caller's trace, not the leader's.
Every caller returns only once the transaction holding its work has committed. If the group's transaction
fails, each member runs ``alone`` in a transaction of its own, so one bad item never fails its neighbours;
unless ``alone_after`` says the failure leaves the group's commit in doubt (e.g. the connection was lost while
committing), when retrying could apply the work twice: then every member gets the error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from plumbing.metrics import GROUP_COMMIT_SIZE
from plumbing.tracing import captured, within

T = TypeVar("T")
R = TypeVar("R")
ItemScope = Callable[[Any], AbstractContextManager[None]]
"""Enters one item's caller's context (``together``'s second argument)."""


@dataclass
class _Group(Generic[T, R]):
    items: list[T] = field(default_factory=list)
    contexts: dict[int, Any] = field(default_factory=dict)
    """Each item's caller's trace context, by the item's id."""
    full: bool = False
    outcomes: Sequence[R | Exception] = ()
    failure: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class GroupCommit(Generic[T, R]):
    """Runs callers' items in shared transactions (see the module's doc); thread-safe.

    ``together(items, scope)`` returns one outcome per item, in order: a result, or the exception that item's
    caller gets (raised to it alone). ``window_s`` 0 adds no wait: only callers that arrive while the group
    before theirs runs share a transaction.
    """

    def __init__(
        self,
        *,
        name: str,
        together: Callable[[list[T], ItemScope], Sequence[R | Exception]],
        alone: Callable[[T], R],
        alone_after: Callable[[BaseException], bool],
        window_s: float,
        max_size: int = 64,
    ) -> None:
        self._name = name
        self._together = together
        self._alone = alone
        self._alone_after = alone_after
        self._window_s = window_s
        self._max_size = max(max_size, 1)
        self._lock = threading.Lock()
        self._joined = threading.Condition(self._lock)
        self._open: _Group[T, R] | None = None
        self._running = threading.Lock()
        """Held by the leader of the group being run (one at a time)."""

    @property
    def waiting(self) -> int:
        """Callers in the group that has not started yet (waiting for the one before it, or its window)."""
        with self._lock:
            return len(self._open.items) if self._open is not None else 0

    def submit(self, item: T) -> R:
        """``item``'s outcome once the transaction holding it has committed; raises the item's own error."""
        with self._lock:
            group, leader = self._open, False
            if group is None:
                group, leader = _Group(), True
                self._open = group
            index = len(group.items)
            group.items.append(item)
            group.contexts[id(item)] = captured()
            if len(group.items) >= self._max_size:
                group.full = True
                self._open = None
                self._joined.notify_all()
        if leader:
            self._lead(group)
        else:
            group.done.wait()
        if group.failure is not None:
            if len(group.items) == 1 or not self._alone_after(group.failure):
                raise group.failure
            return self._alone(item)
        outcome = group.outcomes[index]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _lead(self, group: _Group[T, R]) -> None:
        """Wait for the group before to finish, then for this one to fill or the window to pass; close it, run it."""
        with self._running:
            with self._lock:
                if self._window_s > 0:
                    self._joined.wait_for(lambda: group.full, timeout=self._window_s)
                if self._open is group:
                    self._open = None
            self._run(group)

    def _run(self, group: _Group[T, R]) -> None:
        GROUP_COMMIT_SIZE.labels(self._name).observe(len(group.items))
        try:
            if len(group.items) > 1:
                group.outcomes = self._together(group.items, lambda item: within(group.contexts[id(item)]))
            else:
                group.outcomes = [self._one(group.items[0])]
        except BaseException as error:  # handed to every member, who decides (alone or raise)
            group.failure = error
        finally:
            group.done.set()

    def _one(self, item: T) -> R | Exception:
        """A group of one runs alone, exactly as without group commit."""
        try:
            return self._alone(item)
        except Exception as error:
            return error
