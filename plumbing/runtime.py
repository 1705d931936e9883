"""A service process: its background workers (consumer loop, outbox relay) beside the HTTP server."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Work = Callable[[threading.Event], None]


@dataclass(frozen=True)
class Worker:
    """A named loop run on its own thread until its stop event is set."""

    name: str
    run: Work


class Workers:
    """Starts workers on their own threads and stops them in the same order, each finishing what it holds."""

    join_timeout_s = 30.0

    def __init__(self, workers: list[Worker]) -> None:
        self._workers = workers
        self._running: list[tuple[Worker, threading.Thread, threading.Event]] = []
        self.crashed: dict[str, str] = {}
        """Workers that died, by name, with their error (``/health`` says so until the process is down)."""

    def start(self) -> None:
        """Start every worker on a daemon thread."""
        for worker in self._workers:
            stop = threading.Event()
            thread = threading.Thread(target=self._guard, args=(worker, stop), name=worker.name, daemon=True)
            thread.start()
            self._running.append((worker, thread, stop))

    def stop(self) -> None:
        """Stop the workers one by one in the order they were started, waiting for each to finish.

        The relay is listed last, so it drains everything the other workers committed.
        (No parameters: Litestar passes the app to shutdown hooks that take any.)
        """
        for _worker, thread, stop in self._running:
            stop.set()
            thread.join(self.join_timeout_s)
        self._running = []

    def _guard(self, worker: Worker, stop: threading.Event) -> None:
        try:
            worker.run(stop)
        except BaseException as error:
            # A worker that dies leaves the service unable to do its job: take the process down loudly
            # rather than keep answering health checks (which say so until it is down).
            self.crashed[worker.name] = repr(error)[:500]
            log.exception("worker %s crashed; stopping the service", worker.name)
            os.kill(os.getpid(), signal.SIGTERM)
