"""Runs the project's services (named in ``plumbing.services``) as local processes: start, wait until
healthy, stop, kill; any number of instances of each.

Instance ``k`` (1, 2, ...) of a service listens on the service's port plus ``PORT_STRIDE * (k - 1)`` (the
service's port is ``RV_<SERVICE>_PORT`` or its default in ``plumbing.services``) and is told who it is by
``RV_INSTANCE_ID=<k>`` and its port by ``RV_<SERVICE>_PORT``. Instance 1 keeps the service's own pid and log
file names (``<state>/run/<service>.pid``, ``<state>/log/<service>.log``); instance ``k > 1`` uses
``<service>-<k>``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra import localstripe, state, trace_sink
from infra.process import Daemon
from payment.settings import EMULATOR_KEY
from plumbing.services import GATEWAY, SERVICE_NAMES
from plumbing.services import service as service_of

SERVICES = SERVICE_NAMES
"""The message-driven services' names, in start order."""
FRONT_DOOR = GATEWAY.name
"""The gateway, started after them (one instance)."""
PORT_STRIDE = 100
"""Instance ``k`` listens on the service's port + ``PORT_STRIDE * (k - 1)``."""


def state_dir() -> Path:
    """``$RV_STATE_DIR`` or ``<repo>/.local`` (a service's own state is its database)."""
    return state.state_dir()


def daemon_name(service: str, instance: int = 1) -> str:
    """The name of an instance's pid and log files: ``<service>`` for instance 1, else ``<service>-<k>``."""
    if instance < 1:
        raise ValueError(f"instance numbers start at 1, not {instance}")
    return service if instance == 1 else f"{service}-{instance}"


def _daemon(service: str, instance: int) -> Daemon:
    return Daemon(daemon_name(service, instance))


def port(service: str, instance: int = 1) -> int:
    """The HTTP port of ``instance`` of ``service``."""
    base = state.env_port(f"RV_{service.upper()}_PORT", service_of(service).port)
    return base + PORT_STRIDE * (instance - 1)


def url(service: str, instance: int = 1) -> str:
    """Base URL of an instance's HTTP API."""
    return f"http://127.0.0.1:{port(service, instance)}"


def instances(service: str) -> list[int]:
    """The instances of ``service`` that have a pid file (running or not), in order."""
    found = {1} if state.pid_path(service).exists() else set()
    for path in state.run_dir().glob(f"{service}-*.pid"):
        suffix = path.stem.removeprefix(f"{service}-")
        if suffix.isascii() and suffix.isdigit() and int(suffix) > 1:
            found.add(int(suffix))
    return sorted(found)


def pid(service: str, *, instance: int = 1) -> int | None:
    """The running instance's pid, or None."""
    return _daemon(service, instance).pid()


def health_body(service: str, timeout_s: float = 2.0, *, instance: int = 1) -> tuple[int, dict[str, object]] | None:
    """The instance's ``/health`` status and body (200 or 503 alike), or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url(service, instance)}/health", timeout=timeout_s) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.load(error)
        except ValueError:
            return None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def health(service: str, timeout_s: float = 2.0, *, instance: int = 1) -> dict[str, object] | None:
    """The instance's ``/health`` body if it says ok, else None."""
    answer = health_body(service, timeout_s, instance=instance)
    return answer[1] if answer is not None and answer[0] == 200 else None


def start(service: str, extra_env: dict[str, str] | None = None, *, instance: int = 1) -> int:
    """Start an instance of a service in the background (no-op if it runs); returns its pid.

    It gets ``RV_INSTANCE_ID`` and its port (``RV_<SERVICE>_PORT``); ``extra_env`` comes last. While the trace
    sink runs, the instance exports its spans to it. Payment is pointed at the local localstripe
    (``RV_STRIPE_API_BASE``) unless it was given a Stripe key or a base URL of its own; the gateway signs its
    tokens with ``<state>/gateway/signing-key.pem`` unless told another key file, keeps the demo logins
    (``RV_GATEWAY_DEMO_USERS=true``) and lets 127.0.0.1 try 1000 logins a minute, unless told otherwise.
    """
    daemon = _daemon(service, instance)
    running = daemon.pid()
    if running is not None:
        return running
    tracing = trace_sink.exporter_env() if trace_sink.is_running() else {}
    own = {"RV_INSTANCE_ID": str(instance), f"RV_{service.upper()}_PORT": str(port(service, instance))}
    env = {**os.environ, **tracing, **own, **(extra_env or {})}
    emulated = "RV_STRIPE_API_BASE" not in env and env.get("RV_STRIPE_API_KEY", EMULATOR_KEY) == EMULATOR_KEY
    if service == "payment" and emulated:
        env["RV_STRIPE_API_BASE"] = localstripe.api_base()
    if service == FRONT_DOOR:  # one key for every start: tokens outlive a restart
        env.setdefault("RV_GATEWAY_SIGNING_KEY_FILE", str(state_dir() / "gateway" / "signing-key.pem"))
        env.setdefault("RV_GATEWAY_DEMO_USERS", "true")  # the local stack is for trying out: off is the default
        # Every local caller (tests, fuzzers, the browser) is 127.0.0.1: one address's limit would be everyone's.
        env.setdefault("RV_GATEWAY_LOGIN_ADDRESS_BURST", "1000")
        env.setdefault("RV_GATEWAY_LOGIN_ADDRESS_PER_MINUTE", "1000")
    return daemon.spawn([sys.executable, "-m", service], env=env, cwd=state.REPO_ROOT)


def wait_healthy(service: str, timeout_s: float = 90.0, *, instance: int = 1) -> None:
    """Poll ``/health`` until it answers ok; raise with the log's tail if it does not in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if health(service, instance=instance) is not None:
            return
        if pid(service, instance=instance) is None:
            break
        time.sleep(0.1)
    name = daemon_name(service, instance)
    log = _daemon(service, instance).log
    raise RuntimeError(f"{name} did not become healthy in {timeout_s:.0f}s:\n{state.tail(log)}")


def stop(service: str, timeout_s: float = 30.0, *, instance: int = 1) -> None:
    """SIGTERM (graceful: finish the batch, flush the outbox), then SIGKILL after ``timeout_s``."""
    _daemon(service, instance).signal(signal.SIGTERM, timeout_s)


def kill(service: str, *, instance: int = 1) -> None:
    """SIGKILL at once (fault injection)."""
    _daemon(service, instance).signal(signal.SIGKILL, 10.0)
