"""Group commit for coroutines: the changes many coroutines ask for at about the same time share one transaction.

Payment keeps hundreds of charges in flight on one event loop; each records its progress before it goes on
(see ``payment.adapters.payment_store``). One transaction per change would cost a commit per charge and per
step; here a change waits for the transaction in progress to end, then goes with every change that queued
meanwhile. Each caller still resumes only once its change has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from plumbing.errors import RetryLater

C = TypeVar("C")
R = TypeVar("R")


class GroupCommit(Generic[C, R]):
    """Runs ``apply`` (blocking: one transaction for a list of changes, returning one result per change) on a
    worker thread, for the changes queued while the previous group was being applied.

    If ``apply`` fails, every change in its group fails with the same error (none of them committed). If the
    writer itself is cancelled, every change still waiting fails with ``RetryLater``.
    Use it from one event loop.
    """

    def __init__(self, apply: Callable[[list[C]], Sequence[R]]) -> None:
        self._apply = apply
        self._queued: list[tuple[C, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, change: C) -> R:
        """``change``'s result, once the transaction carrying it has committed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queued.append((change, done))
        if self._writer is None:
            # Scheduled after every coroutine already ready to run: those queue their changes first.
            self._writer = asyncio.get_running_loop().create_task(self._write())
        return await done

    async def _write(self) -> None:
        group: list[tuple[C, asyncio.Future[R]]] = []
        try:
            while self._queued:
                group, self._queued = self._queued, []
                try:
                    results = await asyncio.to_thread(self._apply, [change for change, _ in group])
                except Exception as error:
                    _fail(group, error)
                    continue
                for (_, done), result in zip(group, results, strict=True):
                    if not done.cancelled():
                        done.set_result(result)
        except BaseException as error:
            # Cancelled (the loop is stopping) or worse: no caller may wait for ever, on this group or the
            # next. Whether the group in progress committed is unknown; its callers retry, which is safe.
            stopped = RetryLater(f"group commit stopped: {type(error).__name__}")
            failure = error if isinstance(error, Exception) else stopped
            group, self._queued = [*group, *self._queued], []
            _fail(group, failure)
            raise
        finally:
            self._writer = None


def _fail(group: list[tuple[C, asyncio.Future[R]]], error: BaseException) -> None:
    """Fail every change of ``group`` still waiting with ``error``."""
    for _, done in group:
        if not done.done():
            done.set_exception(error)
