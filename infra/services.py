"""Runs the project's services (named in ``plumbing.services``) as local processes: start, wait until
healthy, stop, kill."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra import state, trace_sink
from infra.process import Daemon
from plumbing.services import SERVICE_NAMES
from plumbing.settings import service_url

SERVICES = SERVICE_NAMES
"""The services' names, in start order."""


def state_dir() -> Path:
    """``$RV_STATE_DIR`` or ``<repo>/.local`` (a service's own state is its database)."""
    return state.state_dir()


def pid(service: str) -> int | None:
    """The running service's pid, or None."""
    return Daemon(service).pid()


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
    env = {**os.environ, **tracing, **(extra_env or {})}
    return Daemon(service).spawn([sys.executable, "-m", service], env=env, cwd=state.REPO_ROOT)


def wait_healthy(service: str, timeout_s: float = 90.0) -> None:
    """Poll ``/health`` until it answers ok; raise with the log's tail if it does not in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if health(service) is not None:
            return
        if pid(service) is None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{service} did not become healthy in {timeout_s:.0f}s:\n{state.tail(Daemon(service).log)}")


def stop(service: str, timeout_s: float = 30.0) -> None:
    """SIGTERM (graceful: finish the batch, flush the outbox), then SIGKILL after ``timeout_s``."""
    Daemon(service).signal(signal.SIGTERM, timeout_s)


def kill(service: str) -> None:
    """SIGKILL at once (fault injection)."""
    Daemon(service).signal(signal.SIGKILL, 10.0)
