"""A worker that dies is recorded (``/health`` reports it) and takes the process down."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from plumbing.runtime import Worker, Workers


def test_a_crashed_worker_is_recorded_and_the_process_told_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    killed = threading.Event()
    signals: list[int] = []

    def kill(_pid: int, sig: int) -> None:
        signals.append(sig)
        killed.set()

    def crash(_stop: threading.Event) -> None:
        raise RecursionError("too deep")

    monkeypatch.setattr(os, "kill", kill)
    workers = Workers([Worker("consumer", crash)])
    workers.start()
    assert killed.wait(10)
    assert signals == [signal.SIGTERM]
    assert workers.crashed == {"consumer": "RecursionError('too deep')"}
    workers.stop()
