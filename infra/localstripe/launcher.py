"""Starting, watching and stopping the emulator process (``server``, in its own virtualenv).

Environment: ``RV_STRIPE_PORT`` (default 8420); ``RV_STRIPE_PERSIST=0`` keeps the store in memory only
(lost on stop or kill), else it lives in ``<state>/localstripe``.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from infra import state
from infra.localstripe import install
from infra.process import Daemon, cmdline

NAME = "localstripe"
DEFAULT_PORT = 8420
TEST_API_KEY = "sk_test_x"

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def port() -> int:
    """The TCP port: ``$RV_STRIPE_PORT`` or 8420."""
    return state.env_port("RV_STRIPE_PORT", DEFAULT_PORT)


def api_base() -> str:
    """The emulator's base URL, e.g. ``http://127.0.0.1:8420``."""
    return f"http://127.0.0.1:{port()}"


def persistent() -> bool:
    """True unless ``$RV_STRIPE_PERSIST`` is 0/false/no/off."""
    return os.environ.get("RV_STRIPE_PERSIST", "1").strip().lower() not in ("0", "false", "no", "off", "")


def data_dir() -> Path:
    """The durable store: snapshot and request journal."""
    return state.state_dir() / NAME


def _owns(pid: int) -> bool:
    """True if ``pid`` runs this state dir's emulator venv (older launchers included)."""
    return cmdline(pid)[:1] == [str(install.python())]


_DAEMON = Daemon(NAME, _owns)


def pid() -> int | None:
    """The running emulator's pid, or None."""
    return _DAEMON.pid()


def is_running() -> bool:
    """True if our emulator process is alive."""
    return pid() is not None


def is_ready() -> bool:
    """True if something answers a Stripe-shaped list on ``/v1/payment_intents``."""
    request = urllib.request.Request(
        f"{api_base()}/v1/payment_intents?limit=1", headers={"Authorization": f"Bearer {TEST_API_KEY}"}
    )
    try:
        with _NO_PROXY.open(request, timeout=2.0) as response:
            body: Any = json.load(response)
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("object") == "list"


def start(timeout: float = 60) -> None:
    """Start the emulator unless it runs, (re)building its virtualenv first if needed; wait until ready.

    The virtualenv's build (first run, or new requirements) is not counted in ``timeout``.
    """
    with state.locked(NAME):
        if not install.is_installed():
            _DAEMON.signal(signal.SIGTERM, 30)  # requirements changed under a running emulator
            install.install()
        running = pid()
        if running is not None:
            _DAEMON.await_ready(running, is_ready, timeout, kill=False)
            return
        _DAEMON.pid_file.unlink(missing_ok=True)
        if is_ready():
            raise RuntimeError(
                f"port {port()} already serves a Stripe API that this state dir does not manage; "
                "stop it or set RV_STRIPE_PORT"
            )
        # -P -m: the server imports infra.localstripe from the repo (PYTHONPATH), never from its cwd.
        cmd = [str(install.python()), "-P", "-m", "infra.localstripe.server", "--host", "127.0.0.1"]
        cmd += ["--port", str(port()), "--data-dir", str(data_dir()) if persistent() else ""]
        env = {**install.clean_env(), "PYTHONPATH": str(state.REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        banner = f"--- infra.localstripe start {time.strftime('%Y-%m-%dT%H:%M:%S')} ---"
        child = _DAEMON.spawn(cmd, env=env, cwd=state.state_dir(), banner=banner)
        _DAEMON.await_ready(child, is_ready, timeout)


def stop(timeout: float = 30) -> None:
    """Stop the emulator with SIGTERM (SIGKILL after ``timeout`` s)."""
    with state.locked(NAME):
        _DAEMON.signal(signal.SIGTERM, timeout, kill_timeout=5)


def kill() -> None:
    """SIGKILL the emulator (fault injection); a later :func:`start` recovers."""
    _DAEMON.signal(signal.SIGKILL, 10)
