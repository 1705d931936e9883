"""The broker process: KRaft storage formatting, start, readiness, stop and kill."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from infra import state
from infra.kafka import config, jars, jvm
from infra.kafka.config import HOST, NAME
from infra.kafka.probe import answers_api_versions, port_busy
from infra.process import Daemon, alive, cmdline, terminate

_STARTED_LINE = b"Kafka Server started"
_LOG_ROTATE_BYTES = 20 * 1024 * 1024


def _logpos_path() -> Path:
    """Where this run's output starts in the log (the started line is looked for after it)."""
    return state.run_dir() / "kafka.logpos"


def _ready_path() -> Path:
    """The pid of a broker already seen started (saves reading the log again)."""
    return state.run_dir() / "kafka.ready"


def _owns(pid: int) -> bool:
    args = cmdline(pid)
    return jvm.MAIN_CLASS in args and str(config.props_path()) in args


_DAEMON = Daemon(NAME, _owns)


def pid() -> int | None:
    """The pid of this state dir's broker, from its pid file or else /proc; None if none runs."""
    found = _DAEMON.pid()
    if found is not None:
        return found
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return next((p for p in pids if alive(p) and _owns(p)), None)


def is_running() -> bool:
    """True if this state dir's broker process is alive."""
    return pid() is not None


def _log_says_started(running: int) -> bool:
    """True once this run's part of the log shows the server started (remembered in kafka.ready)."""
    if state.read_int(_ready_path()) == running:
        return True
    start = state.read_int(_logpos_path()) or 0
    try:
        with _DAEMON.log.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(start if start <= size else 0)
            found = _STARTED_LINE in fh.read()
    except FileNotFoundError:
        return False
    if found:
        with contextlib.suppress(OSError):
            _ready_path().write_text(f"{running}\n", encoding="utf-8")
    return found


def _ready(running: int) -> bool:
    return answers_api_versions(HOST, config.broker_port()) and _log_says_started(running)


def is_ready() -> bool:
    """True if the broker runs, has started and answers ApiVersions."""
    running = pid()
    return running is not None and _ready(running)


def running_jit() -> str | None:
    """``"c1"`` or ``"full"`` for the running broker (from its command line); None when none runs."""
    running = pid()
    return None if running is None else ("c1" if jvm.C1_ONLY in cmdline(running) else "full")


def _clear_run_files() -> None:
    for path in (_DAEMON.pid_file, _ready_path(), _logpos_path()):
        path.unlink(missing_ok=True)


def _format_if_needed(props: Path) -> None:
    data = config.data_dir()
    if (data / "meta.properties").is_file():
        return
    # No meta.properties: nothing usable in there (e.g. an interrupted format).
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True, exist_ok=True)
    args = ["format", "--cluster-id", config.cluster_id(), "--config", str(props)]
    proc = jars.run_tool("kafka.tools.StorageTool", args, timeout=180)
    if proc.returncode != 0 or not (data / "meta.properties").is_file():
        out = (proc.stdout + proc.stderr).strip().splitlines()[-20:]
        raise RuntimeError(f"formatting Kafka storage failed (exit {proc.returncode})\n" + "\n".join(out))


def _wait_ports_free(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    ports = (("broker", config.broker_port()), ("controller", config.controller_port()), ("SASL", config.sasl_port()))
    for what, port in ports:
        while port_busy(HOST, port):
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{what} port {HOST}:{port} is already in use by another process")
            time.sleep(0.2)


def _launch(props: Path) -> int:
    log = _DAEMON.log
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > _LOG_ROTATE_BYTES:
            log.replace(log.with_name(log.name + ".1"))
    cmd = jvm.broker_command(props, log.parent)
    state.write_atomically(_logpos_path(), f"{log.stat().st_size if log.exists() else 0}\n")
    banner = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] ==== retrovault: starting Kafka ===="
    return _DAEMON.spawn(cmd, env=os.environ, banner=banner)


def start(timeout: float = 120) -> None:
    """Start the broker unless it runs (resolving jars and formatting storage first), and wait until ready."""
    with state.locked(NAME):
        running = pid()
        if running is not None:
            if state.read_int(_DAEMON.pid_file) != running:
                state.write_atomically(_DAEMON.pid_file, f"{running}\n")
            _DAEMON.await_ready(running, lambda: _ready(running), timeout, kill=False, interval=0.2)
            return
        _clear_run_files()
        jars.install()
        props = config.render()
        _wait_ports_free(timeout=10)
        _format_if_needed(props)
        launched = _launch(props)
        _DAEMON.await_ready(launched, lambda: _ready(launched), timeout, interval=0.2)


def _terminate(sig: signal.Signals, timeout: float) -> None:
    running = pid()
    if running is not None:
        clean = terminate(running, sig, timeout, what="Kafka")
        jvm.settle_cds(clean_exit=clean and sig == signal.SIGTERM)
    _clear_run_files()


def stop(timeout: float = 30) -> None:
    """Stop the broker: SIGTERM, then SIGKILL after ``timeout`` s."""
    with state.locked(NAME):
        _terminate(signal.SIGTERM, timeout)


def kill() -> None:
    """SIGKILL the broker at once (crash simulation); start() recovers."""
    with state.locked(NAME):
        _terminate(signal.SIGKILL, 10)
