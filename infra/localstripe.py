"""The localstripe Stripe emulator for RetroVault (dev, tests and CI).

Pure stdlib.  localstripe runs in its own venv built from the pinned
``infra/requirements-localstripe.txt`` and is served by
``infra/localstripe_server.py`` on 127.0.0.1 only (localstripe's own CLI binds
every interface).

Layout (``<state>`` is ``$RV_STATE_DIR`` or ``<repo>/.local``)::

    <state>/localstripe-venv       venv (rebuilt when the requirements change)
    <state>/localstripe/           durable store: snapshot + request journal
    <state>/log/localstripe.log    server log (access log included)
    <state>/run/localstripe.pid    server pid

Environment: ``RV_STRIPE_PORT`` (default 8420); ``RV_STRIPE_PERSIST=0`` keeps
the store in memory only (lost on stop/kill).

CLI: ``python -m infra.localstripe {install,start,stop,kill,status,reset}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra import _proc

NAME = "localstripe"
DEFAULT_PORT = 8420
TEST_API_KEY = "sk_test_x"

_INFRA = Path(__file__).resolve().parent
_LAUNCHER = _INFRA / "localstripe_server.py"
_MARKER = ".rv-requirements.sha256"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------
# paths and settings


def state_dir() -> Path:
    """Return the state directory (``$RV_STATE_DIR`` or ``<repo>/.local``)."""
    return _proc.state_dir()


def port() -> int:
    """Return the TCP port (``$RV_STRIPE_PORT``, default 8420)."""
    return _proc.env_port("RV_STRIPE_PORT", DEFAULT_PORT)


def api_base() -> str:
    """Return the emulator's base URL, e.g. ``http://127.0.0.1:8420``."""
    return f"http://127.0.0.1:{port()}"


def persistent() -> bool:
    """True unless ``$RV_STRIPE_PERSIST`` is 0/false/no/off."""
    value = os.environ.get("RV_STRIPE_PERSIST", "1").strip().lower()
    return value not in ("0", "false", "no", "off", "")


def requirements_path() -> Path:
    """Return the pinned requirements file of the emulator venv."""
    return _INFRA / "requirements-localstripe.txt"


def venv_dir() -> Path:
    """Return the emulator's venv directory."""
    return state_dir() / "localstripe-venv"


def venv_python() -> Path:
    """Return the emulator venv's python."""
    return venv_dir() / "bin" / "python"


def data_dir() -> Path:
    """Return the directory of the durable store (snapshot + journal)."""
    return state_dir() / NAME


def log_path() -> Path:
    """Return the server log path."""
    return _proc.log_path(NAME)


def install_log_path() -> Path:
    """Return the venv install log path."""
    return _proc.log_path(f"{NAME}-install")


def pid_path() -> Path:
    """Return the pid file path."""
    return _proc.pid_path(NAME)


def _tail(path: Path, lines: int = 25) -> str:
    return _proc.tail(path, lines)


def _clean_env() -> dict[str, str]:
    """The environment without PYTHONPATH/PYTHONHOME, which would leak into the venv's python."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


# --------------------------------------------------------------------------
# venv


def _requirements_hash() -> str:
    return hashlib.sha256(requirements_path().read_bytes()).hexdigest()


def is_installed() -> bool:
    """True if the venv exists and was built from the current requirements."""
    marker = venv_dir() / _MARKER
    try:
        return venv_python().exists() and marker.read_text().strip() == _requirements_hash()
    except OSError:
        return False


def ensure_installed(timeout: float = 900) -> Path:
    """(Re)build the emulator venv if the requirements file changed.

    Returns the venv's python.
    """
    with _proc.locked(NAME):
        if is_installed():
            return venv_python()
        deadline = time.monotonic() + timeout
        running = pid()
        if running is not None:  # requirements changed under a running emulator
            _proc.signal_and_wait(running, signal.SIGTERM, 30)
        install_log_path().parent.mkdir(parents=True, exist_ok=True)
        steps: list[list[str]] = [
            [sys.executable, "-m", "venv", "--clear", str(venv_dir())],
            [
                str(venv_python()),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--require-virtualenv",
                "-r",
                str(requirements_path()),
            ],
            [str(venv_python()), "-c", "import aiohttp.web, localstripe.server"],
        ]
        env = _clean_env()
        env.pop("VIRTUAL_ENV", None)
        with install_log_path().open("ab") as log:
            for cmd in steps:
                log.write(f"$ {' '.join(cmd)}\n".encode())
                log.flush()
                try:
                    proc = subprocess.run(
                        cmd,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=log,
                        env=env,
                        timeout=max(deadline - time.monotonic(), 1),
                        check=False,
                    )
                except subprocess.TimeoutExpired as exc:
                    raise RuntimeError(f"timed out installing localstripe: {cmd[2]}") from exc
                if proc.returncode != 0:
                    raise RuntimeError(
                        f"installing localstripe failed at `{' '.join(cmd[:4])}` "
                        f"(log: {install_log_path()})\n{_tail(install_log_path())}"
                    )
        (venv_dir() / _MARKER).write_text(_requirements_hash() + "\n")
        return venv_python()


# --------------------------------------------------------------------------
# process


def _is_our_server(pid: int) -> bool:
    return str(_LAUNCHER) in _proc.cmdline(pid) and _proc.alive(pid)


def pid() -> int | None:
    """Return the pid of the running emulator, or None."""
    value = _proc.read_pid(pid_path())
    return value if value is not None and _is_our_server(value) else None


def is_running() -> bool:
    """True if our emulator process is alive."""
    return pid() is not None


def _request(method: str, path: str, timeout: float = 2.0) -> tuple[int, Any]:
    req = urllib.request.Request(
        api_base() + path,
        method=method,
        headers={"Authorization": f"Bearer {TEST_API_KEY}"},
    )
    try:
        with _NO_PROXY.open(req, timeout=timeout) as resp:
            body = resp.read()
            status = int(resp.status)
    except urllib.error.HTTPError as exc:
        body = exc.read()
        status = exc.code
    return status, (json.loads(body) if body.strip() else None)


def is_ready() -> bool:
    """True if the emulator answers a Stripe-shaped list on /v1/payment_intents."""
    try:
        status, body = _request("GET", "/v1/payment_intents?limit=1")
    except (OSError, ValueError):
        return False
    return status == 200 and isinstance(body, dict) and body.get("object") == "list"


def start(timeout: float = 60) -> None:
    """Start the emulator (installing its venv first if needed) and wait until ready.

    Idempotent; handles a stale pid file.  The venv install (first run only)
    is not counted in ``timeout``.
    """
    ensure_installed()
    with _proc.locked(NAME):
        deadline = time.monotonic() + timeout
        if is_running():
            _proc.wait_until(lambda: is_ready() or not is_running(), deadline)
            if is_ready():
                return
            if is_running():
                raise RuntimeError(
                    f"localstripe (pid {pid()}) is running but not ready: see {log_path()}\n{_tail(log_path())}"
                )
        pid_path().unlink(missing_ok=True)
        if is_ready():
            raise RuntimeError(
                f"port {port()} already serves a Stripe API that this state dir does not "
                "manage; stop it or set RV_STRIPE_PORT"
            )
        cmd = [
            str(venv_python()),
            "-P",  # do not put infra/ on sys.path (infra/localstripe.py shadows the package)
            str(_LAUNCHER),
            "--host",
            "127.0.0.1",
            "--port",
            str(port()),
            "--data-dir",
            str(data_dir()) if persistent() else "",
        ]
        env = {**_clean_env(), "PYTHONUNBUFFERED": "1"}
        with _proc.open_log(log_path(), f"--- infra.localstripe start {time.strftime('%Y-%m-%dT%H:%M:%S')} ---") as log:
            child = _proc.spawn(cmd, log, env=env, cwd=state_dir())
        _proc.write_pid(pid_path(), child)
        ok = _proc.wait_until(lambda: not _proc.alive(child) or is_ready(), deadline)
        if ok and _proc.alive(child):
            return
        if _proc.alive(child):
            _proc.signal_and_wait(child, signal.SIGKILL, 5)
        pid_path().unlink(missing_ok=True)
        why = "exited" if ok else f"not ready after {timeout}s"
        raise RuntimeError(f"localstripe {why} (log: {log_path()}): {_last_error(log_path())}\n{_tail(log_path())}")


def _last_error(path: Path) -> str:
    lines = _tail(path, 40).splitlines()
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line.strip()
    return lines[-1].strip() if lines else "no output"


def stop(timeout: float = 30) -> None:
    """Stop the emulator with SIGTERM (SIGKILL after ``timeout``)."""
    with _proc.locked(NAME):
        target = pid()
        if target is not None:
            _proc.terminate(target, signal.SIGTERM, timeout, kill_timeout=5, what="localstripe")
        pid_path().unlink(missing_ok=True)


def kill() -> None:
    """SIGKILL the emulator (fault injection); a later :func:`start` recovers."""
    target = pid()
    if target is not None:
        _proc.signal_and_wait(target, signal.SIGKILL, 10)


def reset() -> None:
    """Delete every object in the emulator's store (``DELETE /_config/data``)."""
    status, _ = _request("DELETE", "/_config/data", timeout=30)
    if status != 200:
        raise RuntimeError(f"localstripe reset failed: HTTP {status}")


# --------------------------------------------------------------------------
# CLI


def _status() -> int:
    running = is_running()
    ready = is_ready()
    state = "ready" if running and ready else ("running (not ready)" if running else "stopped")
    if ready and not running:
        state = "stopped (but port answers: not managed by this state dir)"
    store = str(data_dir()) if persistent() else "memory"
    print(f"localstripe: {state} pid={pid() or '-'} api={api_base()} store={store} log={log_path()}")
    return 0 if running and ready else (1 if running else 3)


def _run(command: str, timeout: float | None) -> int:
    if command == "install":
        print(f"localstripe venv: {ensure_installed()}")
    elif command == "start":
        start(timeout or 60)
        print(f"localstripe ready at {api_base()}")
    elif command == "stop":
        stop(timeout or 30)
        print("localstripe stopped")
    elif command == "kill":
        kill()
        print("localstripe killed")
    elif command == "reset":
        reset()
        print("localstripe store emptied")
    else:
        return _status()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    return _proc.cli(
        argv,
        prog="python -m infra.localstripe",
        commands=["install", "start", "stop", "kill", "status", "reset"],
        run=_run,
        label="infra.localstripe {command}",
    )


if __name__ == "__main__":
    sys.exit(main())
