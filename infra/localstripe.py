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

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

NAME = "localstripe"
DEFAULT_PORT = 8420
TEST_API_KEY = "sk_test_x"

_INFRA = Path(__file__).resolve().parent
_REPO_ROOT = _INFRA.parent
_LAUNCHER = _INFRA / "localstripe_server.py"
_MARKER = ".rv-requirements.sha256"
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------
# paths and settings


def state_dir() -> Path:
    """Return the state directory (``$RV_STATE_DIR`` or ``<repo>/.local``)."""
    env = os.environ.get("RV_STATE_DIR")
    return Path(env).resolve() if env else _REPO_ROOT / ".local"


def port() -> int:
    """Return the TCP port (``$RV_STRIPE_PORT``, default 8420)."""
    return int(os.environ.get("RV_STRIPE_PORT", str(DEFAULT_PORT)))


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
    return state_dir() / "log" / f"{NAME}.log"


def install_log_path() -> Path:
    """Return the venv install log path."""
    return state_dir() / "log" / f"{NAME}-install.log"


def pid_path() -> Path:
    """Return the pid file path."""
    return state_dir() / "run" / f"{NAME}.pid"


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Serialize install/start/stop across processes (e.g. pytest-xdist)."""
    lock = state_dir() / "run" / f"{NAME}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text)


def _wait_until(pred: Callable[[], bool], deadline: float, interval: float = 0.05) -> bool:
    """Poll ``pred`` until it is true or ``deadline`` (monotonic) passes."""
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


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
    with _locked():
        if is_installed():
            return venv_python()
        deadline = time.monotonic() + timeout
        running = pid()
        if running is not None:  # requirements changed under a running emulator
            _signal_and_wait(running, signal.SIGTERM, time.monotonic() + 30)
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
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
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


def _reap_children() -> None:
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            del _CHILDREN[pid]


def _pid_alive(pid: int) -> bool:
    _reap_children()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _is_our_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(_LAUNCHER).encode() in cmdline and _pid_alive(pid)


def pid() -> int | None:
    """Return the pid of the running emulator, or None."""
    try:
        value = int(pid_path().read_text().strip())
    except (OSError, ValueError):
        return None
    return value if _is_our_server(value) else None


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
    with _locked():
        deadline = time.monotonic() + timeout
        if is_running():
            _wait_until(lambda: is_ready() or not is_running(), deadline)
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
        for d in (log_path().parent, pid_path().parent):
            d.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env["PYTHONUNBUFFERED"] = "1"
        with log_path().open("ab") as log:
            log.write(f"--- infra.localstripe start {time.strftime('%Y-%m-%dT%H:%M:%S')} ---\n".encode())
            log.flush()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=str(state_dir()),
                start_new_session=True,
            )
        _CHILDREN[proc.pid] = proc
        pid_path().write_text(f"{proc.pid}\n")
        ok = _wait_until(lambda: proc.poll() is not None or is_ready(), deadline)
        if ok and proc.poll() is None:
            return
        if proc.poll() is None:
            _signal_and_wait(proc.pid, signal.SIGKILL, time.monotonic() + 5)
        pid_path().unlink(missing_ok=True)
        why = "exited" if ok else f"not ready after {timeout}s"
        raise RuntimeError(f"localstripe {why} (log: {log_path()}): {_last_error(log_path())}\n{_tail(log_path())}")


def _last_error(path: Path) -> str:
    lines = _tail(path, 40).splitlines()
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line.strip()
    return lines[-1].strip() if lines else "no output"


def _signal_and_wait(target: int, sig: signal.Signals, deadline: float) -> bool:
    with contextlib.suppress(ProcessLookupError):
        os.kill(target, sig)
    return _wait_until(lambda: not _pid_alive(target), deadline)


def stop(timeout: float = 30) -> None:
    """Stop the emulator with SIGTERM (SIGKILL after ``timeout``)."""
    with _locked():
        target = pid()
        if target is not None and not _signal_and_wait(target, signal.SIGTERM, time.monotonic() + timeout):
            _signal_and_wait(target, signal.SIGKILL, time.monotonic() + 5)
        pid_path().unlink(missing_ok=True)


def kill() -> None:
    """SIGKILL the emulator (fault injection); a later :func:`start` recovers."""
    target = pid()
    if target is not None:
        _signal_and_wait(target, signal.SIGKILL, time.monotonic() + 10)


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


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m infra.localstripe")
    parser.add_argument("command", choices=["install", "start", "stop", "kill", "status", "reset"])
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            print(f"localstripe venv: {ensure_installed()}")
        elif args.command == "start":
            start(args.timeout or 60)
            print(f"localstripe ready at {api_base()}")
        elif args.command == "stop":
            stop(args.timeout or 30)
            print("localstripe stopped")
        elif args.command == "kill":
            kill()
            print("localstripe killed")
        elif args.command == "reset":
            reset()
            print("localstripe store emptied")
        else:
            return _status()
    except (RuntimeError, OSError, ValueError) as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        print(f"infra.localstripe {args.command}: error: {first}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
