"""The payment service's event loop: one thread on which every charge in flight waits for Stripe."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoopThread:
    """An asyncio event loop on a daemon thread of its own, started on first use and kept for the process's life.

    Long-lived on purpose: what binds itself to a loop (the Stripe client's connection pool, the payment
    store's group commit) keeps working, and its connections open, from one batch to the next.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and block the calling thread until it ends; its result, or its error."""
        loop = self._started()
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError(f"{self._name}: run() from the loop's own thread would wait for itself")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coroutine`` on the loop without waiting for it; its future."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._started())

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._starting:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop


PAYMENT_LOOP = EventLoopThread("payment-loop")
"""The process's one loop for payment's message handlers."""
