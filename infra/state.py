"""Where the local stack keeps its files, and the file helpers every component shares.

``<state>`` is ``$RV_STATE_DIR`` or ``<repo>/.local``: ``<state>/log/<name>.log`` holds a process's output,
``<state>/run/<name>.pid`` and ``<state>/run/<name>.lock`` its pid and start/stop lock, and each component
keeps its data in a directory of its own (see its ``state_dir()``). Pure stdlib: the localstripe emulator's
own virtualenv imports ``infra`` too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

_TAIL_BYTES = 64 * 1024


def state_dir() -> Path:
    """``$RV_STATE_DIR`` or ``<repo>/.local``."""
    env = os.environ.get("RV_STATE_DIR")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".local"


def run_dir() -> Path:
    """``<state>/run``: pid, lock and marker files."""
    return state_dir() / "run"


def log_path(name: str) -> Path:
    """``<state>/log/<name>.log``."""
    return state_dir() / "log" / f"{name}.log"


def pid_path(name: str) -> Path:
    """``<state>/run/<name>.pid``."""
    return run_dir() / f"{name}.pid"


def env_port(name: str, default: int) -> int:
    """The TCP port in environment variable ``name`` (``default`` if unset or empty)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
        raise RuntimeError(f"{name}={raw!r} is not a port number")
    return int(raw)


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


def read_int(path: Path) -> int | None:
    """The positive integer (a pid, an offset) recorded in ``path``, or None."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path``'s content with ``text`` in one step (creating its directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of ``path`` (from its last 64 KiB), or a note that there is no log."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(fh.seek(0, os.SEEK_END) - _TAIL_BYTES, 0))
            data = fh.read()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


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
