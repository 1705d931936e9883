"""Processes of the local stack: liveness, signalling, detached spawning, and :class:`Daemon` for a
process known by its pid file and log."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.state import log_path, open_log, pid_path, read_int, tail, write_atomically

# Popen objects of the processes spawned here: a collected Popen whose process
# still runs warns, and _reap() collects an exited one through its Popen.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def wait_until(pred: Callable[[], bool], deadline: float, interval: float = 0.05) -> bool:
    """Poll ``pred`` until it is true (True) or ``deadline`` (monotonic) passes (False)."""
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def cmdline(pid: int) -> list[str]:
    """The command line of ``pid`` ([] if it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is an exited child of this process (avoids zombies)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int) -> bool:
    """True while ``pid`` exists and still holds its resources.

    A zombie is dead (and reaped if it is our child), except that a killed
    multi-threaded process (e.g. a JVM) shows its leader as a zombie while the
    other threads are still exiting (and its sockets are still open): it counts
    as alive until it is the last task left.
    """
    # waitpid(0) or waitpid(-1) would reap any child of ours.
    if pid <= 0:
        return False
    _reap(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()
    state = fields[0] if fields else "X"
    if state != "Z":
        return state != "X"
    try:
        return sum(1 for _ in Path(f"/proc/{pid}/task").iterdir()) > 1
    except OSError:
        return False


def signal_and_wait(pid: int, sig: signal.Signals, timeout: float) -> bool:
    """Send ``sig`` to ``pid`` and wait up to ``timeout`` s for it to die; True if it did."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    return wait_until(lambda: not alive(pid), time.monotonic() + timeout)


def terminate(
    pid: int, sig: signal.Signals, timeout: float, *, kill_timeout: float = 10, what: str = "process"
) -> bool:
    """Send ``sig``, then SIGKILL if ``pid`` still lives after ``timeout`` s.

    True if ``sig`` alone ended it.  Raises RuntimeError if it still lives
    ``kill_timeout`` s after the SIGKILL (``what`` names it in the message).
    """
    if signal_and_wait(pid, sig, timeout):
        return True
    if not signal_and_wait(pid, signal.SIGKILL, kill_timeout):
        raise RuntimeError(f"{what} (pid {pid}) did not exit after SIGKILL")
    return False


@dataclass(frozen=True)
class Daemon:
    """A detached process known by ``<state>/run/<name>.pid``, writing to ``<state>/log/<name>.log``.

    ``owns`` tells whether a live pid really is this process (the pid file may outlive it and the pid be
    reused); by default any live pid is.
    """

    name: str
    owns: Callable[[int], bool] = lambda _pid: True

    @property
    def pid_file(self) -> Path:
        """Where its pid is recorded."""
        return pid_path(self.name)

    @property
    def log(self) -> Path:
        """Where its output goes."""
        return log_path(self.name)

    def pid(self) -> int | None:
        """Its pid while it runs, else None."""
        found = read_int(self.pid_file)
        return found if found is not None and alive(found) and self.owns(found) else None

    def spawn(self, cmd: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None, banner: str = "") -> int:
        """Start ``cmd`` with its output appended to the log, record its pid and return it.

        It runs detached (own session, stdin /dev/null) and outlives this process; :func:`alive` reaps it
        here if it exits first.
        """
        with open_log(self.log, banner or None) as out:
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
        write_atomically(self.pid_file, f"{child.pid}\n")
        return child.pid

    def await_ready(
        self, pid: int, ready: Callable[[], bool], timeout: float, *, kill: bool = True, interval: float = 0.05
    ) -> None:
        """Poll ``ready()`` every ``interval`` s, for up to ``timeout`` s, while ``pid`` lives.

        Raises RuntimeError with the log's tail if it exits or does not get ready; ``kill`` SIGKILLs it then.
        """
        deadline = time.monotonic() + timeout
        if wait_until(lambda: not alive(pid) or ready(), deadline, interval) and alive(pid):
            return
        why = f"not ready after {timeout:.0f}s" if alive(pid) else "exited"
        if kill:
            self.signal(signal.SIGKILL, 5)
        raise RuntimeError(f"{self.name} (pid {pid}) {why}; log {self.log}:\n{tail(self.log)}")

    def signal(self, sig: signal.Signals, timeout: float, *, kill_timeout: float = 10) -> bool:
        """Send ``sig`` (SIGKILL after ``timeout`` s) if it runs, and forget its pid.

        True if ``sig`` alone ended it or nothing ran.
        """
        running = self.pid()
        clean = running is None or terminate(running, sig, timeout, kill_timeout=kill_timeout, what=self.name)
        self.pid_file.unlink(missing_ok=True)
        return clean
