"""Process plumbing shared by the infra modules (kafka, postgres, localstripe, services).

State directory layout, file locks, pid files, log tails, process liveness,
signalling, detached spawning and the command-line skeleton.  Pure stdlib:
``infra/postgres.py`` and ``infra/localstripe.py`` run before the project venv
exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

_TAIL_BYTES = 64 * 1024
_CLI_ERRORS = (RuntimeError, OSError, ValueError, subprocess.SubprocessError)
# Popen objects of the processes spawned here: a collected Popen whose process
# still runs warns, and reap() collects an exited one through its Popen.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


# --------------------------------------------------------------------------
# paths and settings


def state_dir() -> Path:
    """Return the state directory (``$RV_STATE_DIR`` or ``<repo>/.local``)."""
    env = os.environ.get("RV_STATE_DIR")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".local"


def run_dir() -> Path:
    """Return ``<state>/run`` (pid, lock and marker files)."""
    return state_dir() / "run"


def log_path(name: str) -> Path:
    """Return ``<state>/log/<name>.log``."""
    return state_dir() / "log" / f"{name}.log"


def pid_path(name: str) -> Path:
    """Return ``<state>/run/<name>.pid``."""
    return run_dir() / f"{name}.pid"


def env_port(name: str, default: int) -> int:
    """Return the TCP port in environment variable ``name`` (``default`` if unset or empty)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"{name}={raw!r} is not a port number") from None
    if not 0 < value < 65536:
        raise RuntimeError(f"{name}={value} is out of range")
    return value


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<state>/run/<name>.lock`` (serialises start/stop across processes)."""
    run_dir().mkdir(parents=True, exist_ok=True)
    # O_CLOEXEC: a server started while the lock is held must not inherit it.
    fd = os.open(run_dir() / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def wait_until(pred: Callable[[], bool], deadline: float, interval: float = 0.05) -> bool:
    """Poll ``pred`` until it is true or ``deadline`` (monotonic) passes."""
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --------------------------------------------------------------------------
# files


def tail_lines(path: Path, lines: int, start: int = 0) -> list[str] | None:
    """Return the last ``lines`` lines of ``path`` written at or after byte ``start``.

    Only the last 64 KiB are read.  None if the file cannot be read.
    """
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(start if start <= size else 0, size - _TAIL_BYTES))
            data = fh.read()
    except OSError:
        return None
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]


def tail(path: Path, lines: int, start: int = 0) -> str:
    """Return :func:`tail_lines` as one string, or a note that there is no log."""
    found = tail_lines(path, lines, start)
    return f"(no log at {path})" if found is None else "\n".join(found)


def read_pid(path: Path) -> int | None:
    """Return the positive pid recorded in ``path``, or None."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    if not (text.isascii() and text.isdigit()) or int(text) <= 0:
        return None
    return int(text)


def write_pid(path: Path, pid: int) -> None:
    """Record ``pid`` in ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n", encoding="utf-8")
    tmp.replace(path)


@contextlib.contextmanager
def open_log(path: Path, banner: str | None = None) -> Iterator[int]:
    """Open ``path`` for appending (creating its directory); write ``banner`` as a line; yield the fd."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        if banner is not None:
            os.write(fd, f"{banner}\n".encode())
        yield fd
    finally:
        os.close(fd)


# --------------------------------------------------------------------------
# processes


def proc_state(pid: int) -> str | None:
    """Return the /proc state letter of ``pid`` (``R``, ``S``, ``Z``, ...) or None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    after = stat.rpartition(")")[2].split()
    return after[0] if after else None


def cmdline(pid: int) -> list[str]:
    """Return the command line of ``pid`` ([] if it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]


def reap(pid: int) -> None:
    """Collect ``pid`` if it is an exited child of this process (avoids zombies)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int) -> bool:
    """Return True while ``pid`` exists and still holds its resources.

    A zombie is dead (and reaped if it is our child), except that a killed
    multi-threaded process (e.g. a JVM) shows its leader as a zombie while the
    other threads are still exiting (and its sockets are still open): it counts
    as alive until it is the last task left.
    """
    # waitpid(0) or waitpid(-1) would reap any child of ours.
    if pid <= 0:
        return False
    reap(pid)
    state = proc_state(pid)
    if state is None or state == "X":
        return False
    if state != "Z":
        return True
    try:
        return sum(1 for _ in Path(f"/proc/{pid}/task").iterdir()) > 1
    except OSError:
        return False


def send_signal(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to ``pid``; a process that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def signal_and_wait(pid: int, sig: signal.Signals, timeout: float) -> bool:
    """Send ``sig`` to ``pid`` and wait up to ``timeout`` s for it to die; return True if it did."""
    send_signal(pid, sig)
    return wait_until(lambda: not alive(pid), time.monotonic() + timeout)


def terminate(
    pid: int, sig: signal.Signals, timeout: float, *, kill_timeout: float = 10, what: str = "process"
) -> bool:
    """Send ``sig``, then SIGKILL if ``pid`` still lives after ``timeout`` s.

    Returns True if ``sig`` alone ended it.  Raises RuntimeError if it still
    lives ``kill_timeout`` s after the SIGKILL (``what`` names it in the message).
    """
    if signal_and_wait(pid, sig, timeout):
        return True
    if not signal_and_wait(pid, signal.SIGKILL, kill_timeout):
        raise RuntimeError(f"{what} (pid {pid}) did not exit after SIGKILL")
    return False


def spawn(cmd: Sequence[str], out: int, *, env: Mapping[str, str], cwd: Path | None = None) -> int:
    """Start ``cmd`` detached (own session, stdin /dev/null, stdout and stderr to fd ``out``); return its pid.

    The process outlives this one; :func:`alive` reaps it here if it exits first.
    """
    child = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    _CHILDREN[child.pid] = child
    return child.pid


# --------------------------------------------------------------------------
# CLI


def cli(
    argv: Sequence[str] | None,
    *,
    prog: str,
    commands: Sequence[str],
    run: Callable[[str, float | None], int],
    label: str,
    description: str | None = None,
) -> int:
    """Parse ``COMMAND [--timeout SECONDS]`` and return ``run(command, timeout)`` as the exit code.

    An error is printed as one line, ``<label>: error: <first line>``, and
    gives exit code 1; ``{command}`` in ``label`` stands for the command.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("command", choices=list(commands))
    parser.add_argument("--timeout", type=float, default=None, help="seconds to wait")
    ns = parser.parse_args(argv)
    command: str = ns.command
    try:
        return run(command, ns.timeout)
    except _CLI_ERRORS as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        print(f"{label.format(command=command)}: error: {first}", file=sys.stderr)
        return 1
