"""Runs RetroVault's four services as local processes: start, wait until healthy, stop, kill."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from plumbing.settings import service_url

SERVICES = ("catalog", "orders", "payment", "coordinator")
_REPO = Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """``$RV_STATE_DIR`` or ``<repo>/.local``."""
    return Path(os.environ.get("RV_STATE_DIR", _REPO / ".local"))


def _pid_path(service: str) -> Path:
    return state_dir() / "run" / f"{service}.pid"


def log_path(service: str) -> Path:
    """Where a service's output goes."""
    return state_dir() / "log" / f"{service}.log"


def pid(service: str) -> int | None:
    """The running service's pid, or None."""
    try:
        value = int(_pid_path(service).read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(value, 0)
    except ProcessLookupError:
        return None
    status = Path(f"/proc/{value}/stat")
    if status.exists() and status.read_text().split(")")[-1].split()[0] == "Z":
        with contextlib.suppress(ChildProcessError):  # reap it if it is ours; either way it is gone
            os.waitpid(value, os.WNOHANG)
        return None
    return value


def health(service: str, timeout_s: float = 2.0) -> dict[str, object] | None:
    """The service's ``/health`` body if it says ok, else None."""
    try:
        with urllib.request.urlopen(f"{service_url(service)}/health", timeout=timeout_s) as response:
            body: dict[str, object] = json.load(response)
            return body if response.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def start(service: str, extra_env: dict[str, str] | None = None) -> int:
    """Start a service in the background (no-op if it runs); returns its pid."""
    running = pid(service)
    if running is not None:
        return running
    log = log_path(service)
    log.parent.mkdir(parents=True, exist_ok=True)
    _pid_path(service).parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", service],
            cwd=_REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(extra_env or {})},
        )
    _pid_path(service).write_text(str(process.pid))
    return process.pid


def wait_healthy(service: str, timeout_s: float = 90.0) -> None:
    """Poll ``/health`` until it answers ok; raise with the log's tail if it does not in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if health(service) is not None:
            return
        if pid(service) is None:
            break
        time.sleep(0.1)
    tail = (
        "\n".join(log_path(service).read_text(errors="replace").splitlines()[-30:])
        if log_path(service).exists()
        else ""
    )
    raise RuntimeError(f"{service} did not become healthy in {timeout_s:.0f}s:\n{tail}")


def _signal(service: str, sig: signal.Signals, timeout_s: float) -> None:
    running = pid(service)
    if running is None:
        return
    os.kill(running, sig)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid(service) is not None:
        time.sleep(0.05)
    if pid(service) is not None:
        os.kill(running, signal.SIGKILL)
        while pid(service) is not None:
            time.sleep(0.05)
    _pid_path(service).unlink(missing_ok=True)


def stop(service: str, timeout_s: float = 30.0) -> None:
    """SIGTERM (graceful: finish the batch, flush the outbox), then SIGKILL after ``timeout_s``."""
    _signal(service, signal.SIGTERM, timeout_s)


def kill(service: str) -> None:
    """SIGKILL at once (fault injection)."""
    _signal(service, signal.SIGKILL, 10.0)
