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

C = TypeVar("C")
R = TypeVar("R")


class GroupCommit(Generic[C, R]):
    """Runs ``apply`` (blocking: one transaction for a list of changes, returning one result per change) on a
    worker thread, for the changes queued while the previous group was being applied.

    If ``apply`` fails, every change in its group fails with the same error (none of them committed).
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
        try:
            while self._queued:
                group, self._queued = self._queued, []
                try:
                    results = await asyncio.to_thread(self._apply, [change for change, _ in group])
                except Exception as error:
                    for _, done in group:
                        if not done.cancelled():
                            done.set_exception(error)
                    continue
                for (_, done), result in zip(group, results, strict=True):
                    if not done.cancelled():
                        done.set_result(result)
        finally:
            self._writer = None
