"""The PostgreSQL server's life: start (initdb on first use), readiness, stop, kill and crash recovery."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from infra import state
from infra.postgres import config, roles
from infra.postgres.install import as_user, bin_dir, clean_env, ensure_installed, run_as_user, tool
from infra.postgres.layout import NAME, data_dir, log_path, port, socket_dir
from infra.process import alive, signal_and_wait, wait_until


def _cluster_processes() -> list[int]:
    """Live processes whose cwd is our data dir (postmaster and its children)."""
    target = str(data_dir())
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") != target:
                continue
            if Path(os.readlink(entry / "exe")).name not in ("postgres", "postmaster"):
                continue
        except OSError:
            continue
        if alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _postmaster_file_line(index: int) -> str | None:
    """Line ``index`` of PGDATA/postmaster.pid: 0 is the pid, 3 the port."""
    try:
        return (data_dir() / "postmaster.pid").read_text().splitlines()[index].strip()
    except (OSError, IndexError):
        return None


def postmaster_pid() -> int | None:
    """The pid of our running postmaster, or None."""
    line = _postmaster_file_line(0)
    if not line or not line.isdigit() or not alive(pid := int(line)):
        return None
    try:
        return pid if os.readlink(f"/proc/{pid}/cwd") == str(data_dir()) else None
    except OSError:
        return None


def is_running() -> bool:
    """True if our postmaster process is alive."""
    return postmaster_pid() is not None


def is_ready() -> bool:
    """True if the server accepts TCP connections on 127.0.0.1:<port>."""
    if not is_running():
        return False
    try:
        cmd = [tool("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port()), "-U", config.SUPERUSER, "-d", "postgres"]
        proc = subprocess.run([*cmd, "-t", "2"], capture_output=True, env=clean_env(), timeout=5, check=False)
    except (subprocess.TimeoutExpired, RuntimeError):
        return False
    return proc.returncode == 0


def _log_tail(lines: int = 30) -> str:
    """A one-line hint (the last FATAL/PANIC/ERROR) followed by the log's tail."""
    tail = state.tail(log_path(), lines)
    hints = [ln for ln in tail.splitlines() if "FATAL" in ln or "PANIC" in ln or "ERROR" in ln]
    hint = hints[-1].split("UTC ", 1)[-1] if hints else "see log"
    return f"{hint} (log: {log_path()})\n{tail}"


def _reap_orphans(deadline: float) -> None:
    """Make sure no backend of a dead postmaster still holds the data dir."""
    if is_running() or not _cluster_processes():
        return
    # Backends exit by themselves once they notice the postmaster died.
    if wait_until(lambda: not _cluster_processes(), min(deadline, time.monotonic() + 2)):
        return
    for pid in _cluster_processes():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if not wait_until(lambda: not _cluster_processes(), deadline):
        raise RuntimeError(f"orphaned postgres processes still alive: {_cluster_processes()}")


def _remove_stale_pid_files() -> None:
    """Remove the lock, pid and socket files of a dead postmaster.

    PostgreSQL itself refuses to start while the pid in its lock file still exists, which includes an
    unreaped zombie or an unrelated process that reused the pid.
    """
    if is_running():
        return
    stale = [data_dir() / "postmaster.pid", state.pid_path(NAME)]
    if socket_dir().is_dir():
        stale += list(socket_dir().glob(".s.PGSQL.*"))
    for path in stale:
        path.unlink(missing_ok=True)


def _ready(deadline: float) -> None:
    """Record the postmaster's pid and create the databases once the server is ready."""
    if (pid := postmaster_pid()) is not None:
        state.write_atomically(state.pid_path(NAME), f"{pid}\n")
    roles.ensure_databases(timeout=max(deadline - time.monotonic(), 5))


def start(timeout: float = 60) -> None:
    """Start the cluster (initdb on first use), wait until it is ready, and create the databases and roles.

    Idempotent; recovers from a stale pid file or a killed postmaster.
    """
    deadline = time.monotonic() + timeout
    ensure_installed()
    with state.locked(NAME):
        if is_running():
            running_port = _postmaster_file_line(3)
            if running_port and running_port != str(port()):
                raise RuntimeError(f"postgres is already running on port {running_port}, not {port()} (RV_PG_PORT)")
            # Already up (or starting, or recovering): wait until ready unless it dies.
            wait_until(lambda: is_ready() or not is_running(), deadline, 0.1)
            if is_ready():
                _ready(deadline)
                return
            if is_running():
                raise RuntimeError(f"postgres is running but not ready after {timeout}s: {_log_tail()}")
        config.ensure_cluster(max(deadline - time.monotonic(), 5))
        config.write_config()
        _reap_orphans(deadline)
        _remove_stale_pid_files()
        remaining = str(max(int(deadline - time.monotonic()), 1))
        with state.open_log(log_path(), f"--- infra.postgres start {time.strftime('%Y-%m-%dT%H:%M:%S')} ---") as log:
            # The postmaster inherits this file as stdout/stderr, so the log lives in
            # <state>/log even when the OS user cannot reach the state directory.
            proc = subprocess.run(
                as_user([str(bin_dir() / "pg_ctl"), "start", "-w", "-t", remaining, "-D", str(data_dir()), "-s"]),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd="/",
                env=clean_env(),
                check=False,
            )
        if proc.returncode != 0 or not wait_until(is_ready, deadline):
            raise RuntimeError(f"postgres failed to start (pg_ctl rc={proc.returncode}); {_log_tail()}")
        _ready(deadline)


def _pg_ctl_stop(mode: str, timeout: float) -> bool:
    cmd = [str(bin_dir() / "pg_ctl"), "stop", "-w", "-t", str(max(int(timeout), 1)), "-m", mode, "-D", str(data_dir())]
    proc = run_as_user([*cmd, "-s"], timeout=timeout + 5, check=False)
    return proc.returncode == 0 or not is_running()


def stop(timeout: float = 30) -> None:
    """Stop the server with ``pg_ctl stop -m fast``, escalating to ``-m immediate``."""
    deadline = time.monotonic() + timeout
    with state.locked(NAME):
        if is_running() and not _pg_ctl_stop("fast", max(deadline - time.monotonic(), 1)):
            _pg_ctl_stop("immediate", max(deadline - time.monotonic(), 5))
        if is_running():
            raise RuntimeError(f"postgres did not stop within {timeout}s: {_log_tail()}")
        _remove_stale_pid_files()


def restart_immediate(timeout: float = 60) -> None:
    """A crash-like restart: ``pg_ctl stop -m immediate``, then :func:`start` (which runs crash recovery)."""
    deadline = time.monotonic() + timeout
    if is_running() and not _pg_ctl_stop("immediate", max(deadline - time.monotonic(), 1)):
        raise RuntimeError(f"pg_ctl stop -m immediate failed: {_log_tail()}")
    start(timeout=max(deadline - time.monotonic(), 1))


def kill() -> None:
    """SIGKILL the postmaster (fault injection); a later :func:`start` recovers.

    Backends that do not notice the postmaster's death within 2 s (e.g. busy in a long query) are
    SIGKILLed too, so start() can run immediately after.
    """
    pid = postmaster_pid()
    if pid is not None:
        signal_and_wait(pid, signal.SIGKILL, 10)
        _reap_orphans(time.monotonic() + 10)
