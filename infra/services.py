"""Runs RetroVault's four services as local processes: start, wait until healthy, stop, kill."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra import _proc, trace_sink
from plumbing.settings import service_url

SERVICES = ("catalog", "orders", "payment", "coordinator")


def state_dir() -> Path:
    """``$RV_STATE_DIR`` or ``<repo>/.local``."""
    return _proc.state_dir()


def log_path(service: str) -> Path:
    """Where a service's output goes."""
    return _proc.log_path(service)


def pid(service: str) -> int | None:
    """The running service's pid, or None."""
    value = _proc.read_pid(_proc.pid_path(service))
    return value if value is not None and _proc.alive(value) else None


def health(service: str, timeout_s: float = 2.0) -> dict[str, object] | None:
    """The service's ``/health`` body if it says ok, else None."""
    try:
        with urllib.request.urlopen(f"{service_url(service)}/health", timeout=timeout_s) as response:
            body: dict[str, object] = json.load(response)
            return body if response.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def start(service: str, extra_env: dict[str, str] | None = None) -> int:
    """Start a service in the background (no-op if it runs); returns its pid.

    While the trace sink runs, the service exports its spans to it.
    """
    running = pid(service)
    if running is not None:
        return running
    tracing = trace_sink.exporter_env() if trace_sink.is_running() else {}
    with _proc.open_log(log_path(service)) as out:
        child = _proc.spawn(
            [sys.executable, "-m", service],
            out,
            env={**os.environ, **tracing, **(extra_env or {})},
            cwd=_proc.REPO_ROOT,
        )
    _proc.write_pid(_proc.pid_path(service), child)
    return child


def wait_healthy(service: str, timeout_s: float = 90.0) -> None:
    """Poll ``/health`` until it answers ok; raise with the log's tail if it does not in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if health(service) is not None:
            return
        if pid(service) is None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{service} did not become healthy in {timeout_s:.0f}s:\n{_proc.tail(log_path(service), 30)}")


def _signal(service: str, sig: signal.Signals, timeout_s: float) -> None:
    running = pid(service)
    if running is None:
        return
    _proc.terminate(running, sig, timeout_s, what=service)
    _proc.pid_path(service).unlink(missing_ok=True)


def stop(service: str, timeout_s: float = 30.0) -> None:
    """SIGTERM (graceful: finish the batch, flush the outbox), then SIGKILL after ``timeout_s``."""
    _signal(service, signal.SIGTERM, timeout_s)


def kill(service: str) -> None:
    """SIGKILL at once (fault injection)."""
    _signal(service, signal.SIGKILL, 10.0)
