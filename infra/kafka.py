"""Provision and run a real single-node Apache Kafka 4.x broker (KRaft mode).

No Docker: the broker's jars are resolved from Maven Central with
``infra/kafka_conf/pom.xml`` and the broker runs as a detached ``java``
process in combined mode (``process.roles=broker,controller``), listening on
127.0.0.1 only.

State lives under ``$RV_STATE_DIR`` (default ``<repo root>/.local``)::

    kafka/libs/              resolved jars (+ .resolved marker)
    kafka/data/              log.dirs (topic data and the KRaft metadata log)
    kafka/server.properties  rendered broker config
    kafka/cluster.id         cluster id used when formatting data/
    log/kafka.log            broker stdout/stderr (log4j2 writes to stdout)
    run/kafka.pid            broker pid

Ports: ``RV_KAFKA_PORT`` (default 19092) for clients, and
``RV_KAFKA_CONTROLLER_PORT`` (default 19093) for the KRaft controller.

CLI: ``python -m infra.kafka COMMAND`` with COMMAND one of install, start, stop,
kill, status, reset, bootstrap, classpath.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shlex
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from infra import _proc

__all__ = [
    "bootstrap_servers",
    "broker_port",
    "classpath",
    "controller_port",
    "ensure_installed",
    "is_ready",
    "is_running",
    "kill",
    "reset",
    "run_tool",
    "start",
    "state_dir",
    "stop",
]

_HERE = Path(__file__).resolve().parent
REPO_ROOT = _HERE.parent
CONF_DIR = _HERE / "kafka_conf"
POM = CONF_DIR / "pom.xml"
PROPS_TEMPLATE = CONF_DIR / "server.properties"
BROKER_LOG4J = CONF_DIR / "log4j2.yaml"
TOOLS_LOG4J = CONF_DIR / "tools-log4j2.yaml"

HOST = "127.0.0.1"
DEFAULT_PORT = 19092
DEFAULT_CONTROLLER_PORT = 19093
MAIN_CLASS = "kafka.Kafka"
STARTED_LINE = b"Kafka Server started"
HEAP_OPTS = ("-Xms256m", "-Xmx768m")
JVM_OPTS = (
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
)
# C1 only by default: on a 2-core box C2 adds ~1.6 s to every start (3.6 s -> 5.2 s), and the test suite
# restarts the broker often. A broker under sustained load wants C2: with C1 only, at 20 sagas/s it used
# ~20 % more CPU than a warmed-up C2 broker. RV_KAFKA_JIT=full (set by `make run` and `make bench`) keeps
# the JVM's full tiered compilation. RV_KAFKA_JVM_OPTS is appended after all of these.
C1_ONLY = "-XX:TieredStopAtLevel=1"


def jit_opts() -> list[str]:
    """The JIT flags for a new broker: C1 only, unless ``RV_KAFKA_JIT=full``."""
    return [] if os.environ.get("RV_KAFKA_JIT", "c1") == "full" else [C1_ONLY]


def running_jit() -> str | None:
    """``"c1"`` or ``"full"`` for the running broker (from its command line); None when none runs."""
    pid = _find_pid()
    if pid is None:
        return None
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return "c1" if C1_ONLY.encode() in args else "full"


_LOG_ROTATE_BYTES = 20 * 1024 * 1024
_POLL_INTERVAL = 0.2


# --------------------------------------------------------------------------- paths


def state_dir() -> Path:
    """Return the state directory (``$RV_STATE_DIR`` or ``<repo>/.local``)."""
    return _proc.state_dir()


def _kafka_dir() -> Path:
    return state_dir() / "kafka"


def _libs_dir() -> Path:
    return _kafka_dir() / "libs"


def _data_dir() -> Path:
    return _kafka_dir() / "data"


def _props_path() -> Path:
    return _kafka_dir() / "server.properties"


def _cluster_id_path() -> Path:
    return _kafka_dir() / "cluster.id"


def _log_path() -> Path:
    return _proc.log_path("kafka")


def _pid_path() -> Path:
    return _proc.pid_path("kafka")


def _logpos_path() -> Path:
    return _proc.run_dir() / "kafka.logpos"


def _ready_path() -> Path:
    return _proc.run_dir() / "kafka.ready"


def broker_port() -> int:
    """Return the client (PLAINTEXT) port: ``$RV_KAFKA_PORT`` or 19092."""
    return _proc.env_port("RV_KAFKA_PORT", DEFAULT_PORT)


def controller_port() -> int:
    """Return the KRaft controller port: ``$RV_KAFKA_CONTROLLER_PORT`` or 19093."""
    return _proc.env_port("RV_KAFKA_CONTROLLER_PORT", DEFAULT_CONTROLLER_PORT)


def bootstrap_servers() -> str:
    """Return the bootstrap servers string, e.g. ``127.0.0.1:19092``."""
    return f"{HOST}:{broker_port()}"


def classpath() -> str:
    """Return the java ``-cp`` value for the resolved jars (``<libs>/*``)."""
    return f"{_libs_dir()}/*"


# --------------------------------------------------------------------------- helpers


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("java")
    if not found:
        raise RuntimeError("java not found (install a JDK 17+ or set JAVA_HOME)")
    return found


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------- processes


def _is_our_broker(pid: int) -> bool:
    if not _proc.alive(pid):
        return False
    args = _proc.cmdline(pid)
    if MAIN_CLASS not in args:
        return False
    return str(_props_path()) in args


def _find_pid() -> int | None:
    """Return the pid of this state dir's broker, from the pid file or /proc."""
    pid = _proc.read_pid(_pid_path())
    if pid is not None and _is_our_broker(pid):
        return pid
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_our_broker(int(entry.name)):
            return int(entry.name)
    return None


def _clear_run_files() -> None:
    for path in (_pid_path(), _ready_path(), _logpos_path()):
        _unlink(path)


# --------------------------------------------------------------------------- protocol


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def _api_versions_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """Send a Kafka ApiVersions v0 request and check the reply parses."""
    correlation_id = 0x52560001
    client_id = b"rv-probe"
    header = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(header)) + header)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            if not 10 <= size <= 1 << 20:
                return False
            body = _recv_exact(sock, size)
    except OSError:
        return False
    got_id, error_code, count = struct.unpack_from(">ihi", body)
    # 35 = UNSUPPORTED_VERSION: still a well-formed Kafka answer listing its versions.
    return got_id == correlation_id and error_code in (0, 35) and 0 < count <= 1000 and len(body) >= 10 + 6 * count


def _log_says_started(pid: int) -> bool:
    """Check this run's log shows the server started (cached in kafka.ready)."""
    if _read_text(_ready_path()) == str(pid):
        return True
    raw = _read_text(_logpos_path())
    start = int(raw) if raw and raw.isdigit() else 0
    try:
        with _log_path().open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(start if start <= size else 0)
            found = STARTED_LINE in fh.read()
    except FileNotFoundError:
        return False
    if found:
        with contextlib.suppress(OSError):
            _ready_path().write_text(f"{pid}\n", encoding="utf-8")
    return found


def _ready(pid: int, timeout: float = 2.0) -> bool:
    return _api_versions_ok(HOST, broker_port(), timeout) and _log_says_started(pid)


def _port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


# --------------------------------------------------------------------------- install


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _installed(libs: Path) -> bool:
    marker = libs / ".resolved"
    if _read_text(marker) != _pom_digest():
        return False
    return any(libs.glob("kafka_2.13-*.jar")) and any(libs.glob("log4j-core-*.jar"))


def _install_unlocked() -> Path:
    libs = _libs_dir()
    if _installed(libs):
        return libs
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeError("mvn not found: Maven is needed to resolve the Kafka jars")
    tmp = libs.with_name("libs.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        "-DincludeScope=runtime",
        "-f",
        str(POM),
    ]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not any(tmp.glob("kafka_2.13-*.jar")):
        out = (proc.stdout + proc.stderr).strip().splitlines()[-20:]
        raise RuntimeError(f"resolving Kafka jars failed (mvn exit {proc.returncode})\n" + "\n".join(out))
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    (libs / ".resolved").write_text(_pom_digest() + "\n", encoding="utf-8")
    return libs


def ensure_installed() -> Path:
    """Resolve the Kafka jars into ``<state>/kafka/libs`` once; return that dir."""
    with _proc.locked("kafka"):
        return _install_unlocked()


# --------------------------------------------------------------------------- config


def _props_escape(value: str) -> str:
    return value.replace("\\", "\\\\")


def _render_config() -> Path:
    template = string.Template(PROPS_TEMPLATE.read_text(encoding="utf-8"))
    text = template.substitute(
        broker_port=broker_port(),
        controller_port=controller_port(),
        data_dir=_props_escape(str(_data_dir())),
    )
    path = _props_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _new_cluster_id() -> str:
    """Random Kafka Uuid in its base64url form, as ``kafka-storage random-uuid``."""
    while True:
        raw = os.urandom(16)
        text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        if raw.strip(b"\0") and not text.startswith("-"):
            return text


def _cluster_id() -> str:
    path = _cluster_id_path()
    existing = _read_text(path)
    if existing:
        return existing
    cid = _new_cluster_id()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cid + "\n", encoding="utf-8")
    return cid


def _java_tool_cmd(main_class: str, args: Sequence[str]) -> list[str]:
    return [
        _java(),
        "-Xmx256m",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={TOOLS_LOG4J}",
        "-cp",
        classpath(),
        main_class,
        *args,
    ]


def _format_if_needed(props: Path) -> None:
    data = _data_dir()
    if (data / "meta.properties").is_file():
        return
    # No meta.properties: nothing usable in there (e.g. an interrupted format).
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True, exist_ok=True)
    cmd = _java_tool_cmd(
        "kafka.tools.StorageTool",
        ["format", "--cluster-id", _cluster_id(), "--config", str(props)],
    )
    proc = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if proc.returncode != 0 or not (data / "meta.properties").is_file():
        out = (proc.stdout + proc.stderr).strip().splitlines()[-20:]
        raise RuntimeError(f"formatting Kafka storage failed (exit {proc.returncode})\n" + "\n".join(out))


# --------------------------------------------------------------------------- lifecycle


def _rotate_log(log: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > _LOG_ROTATE_BYTES:
            log.replace(log.with_name(log.name + ".1"))


def _cds_paths(java: str) -> tuple[Path, Path]:
    """Return (archive, pending archive) paths, keyed by the java binary."""
    real = os.path.realpath(java)
    st = Path(real).stat()
    key = hashlib.sha256(f"{real}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
    jsa = _libs_dir() / f".kafka-{key[:12]}.jsa"
    return jsa, jsa.with_name(jsa.name + ".tmp")


def _cds_opts(java: str) -> list[str]:
    """Class-data-sharing flags: use the archive, or record one (saves ~2 s/start).

    The archive is written by the JVM when it exits after SIGTERM and is only
    promoted by a clean stop(); a kill leaves none. Disable: RV_KAFKA_CDS=0.
    """
    if os.environ.get("RV_KAFKA_CDS", "1") == "0":
        return []
    jsa, pending = _cds_paths(java)
    if jsa.is_file():
        return [f"-XX:SharedArchiveFile={jsa}"]
    _unlink(pending)
    return [f"-XX:ArchiveClassesAtExit={pending}", "-Xlog:cds*=error"]


def _settle_cds(*, clean_exit: bool) -> None:
    """Promote a class-data archive written by a cleanly stopped JVM."""
    if os.environ.get("RV_KAFKA_CDS", "1") == "0":
        return
    try:
        jsa, pending = _cds_paths(_java())
    except (RuntimeError, OSError):
        return
    if clean_exit and pending.is_file() and pending.stat().st_size > 0:
        pending.replace(jsa)
    else:
        _unlink(pending)


def _launch(libs: Path, props: Path) -> int:
    log = _log_path()
    _rotate_log(log)
    java = _java()
    cmd = [
        java,
        *HEAP_OPTS,
        *JVM_OPTS,
        *jit_opts(),
        *_cds_opts(java),
        *shlex.split(os.environ.get("RV_KAFKA_JVM_OPTS", "")),
        f"-Dlog4j2.configurationFile={BROKER_LOG4J}",
        f"-Dkafka.logs.dir={log.parent}",
        f"-XX:ErrorFile={log.parent}/kafka_hs_err_%p.log",
        "-cp",
        f"{libs}/*",
        MAIN_CLASS,
        str(props),
    ]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with _proc.open_log(log, f"[{stamp}] ==== retrovault: starting Kafka ====") as fd:
        _logpos_path().write_text(f"{os.fstat(fd).st_size}\n", encoding="utf-8")
        _unlink(_ready_path())
        pid = _proc.spawn(cmd, fd, env=os.environ)
    _proc.write_pid(_pid_path(), pid)
    return pid


def _wait_ready(pid: int, timeout: float, *, launched: bool) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not _proc.alive(pid):
            raise RuntimeError(f"Kafka (pid {pid}) exited before becoming ready; see {_log_path()}\n" + _log_tail())
        remaining = deadline - time.monotonic()
        if _ready(pid, timeout=max(0.2, min(2.0, remaining))):
            return
        if time.monotonic() >= deadline:
            tail = _log_tail()
            if launched:
                _proc.signal_and_wait(pid, signal.SIGKILL, 10)
                _clear_run_files()
            raise RuntimeError(
                f"Kafka (pid {pid}) not ready on {bootstrap_servers()} after {timeout:.0f}s; see {_log_path()}\n{tail}"
            )
        time.sleep(_POLL_INTERVAL)


def _log_tail() -> str:
    raw = _read_text(_logpos_path())
    return _proc.tail(_log_path(), 40, int(raw) if raw and raw.isdigit() else 0)


def _wait_ports_free(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for name, port in (("broker", broker_port()), ("controller", controller_port())):
        while _port_busy(port):
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{name} port {HOST}:{port} is already in use by another process")
            time.sleep(_POLL_INTERVAL)


def start(timeout: float = 120) -> None:
    """Start the broker if needed and wait until it is ready (idempotent)."""
    with _proc.locked("kafka"):
        pid = _find_pid()
        if pid is not None:
            if _proc.read_pid(_pid_path()) != pid:
                _proc.write_pid(_pid_path(), pid)
            _wait_ready(pid, timeout, launched=False)
            return
        _clear_run_files()
        libs = _install_unlocked()
        props = _render_config()
        _wait_ports_free(timeout=10)
        _format_if_needed(props)
        pid = _launch(libs, props)
        _wait_ready(pid, timeout, launched=True)


def _terminate(sig: signal.Signals, timeout: float) -> None:
    pid = _find_pid()
    if pid is not None:
        clean = _proc.terminate(pid, sig, timeout, what="Kafka")
        _settle_cds(clean_exit=clean and sig == signal.SIGTERM)
    _clear_run_files()


def stop(timeout: float = 30) -> None:
    """Stop the broker: SIGTERM, wait up to ``timeout`` s, then SIGKILL."""
    with _proc.locked("kafka"):
        _terminate(signal.SIGTERM, timeout)


def kill() -> None:
    """SIGKILL the broker immediately (crash simulation); start() recovers."""
    with _proc.locked("kafka"):
        _terminate(signal.SIGKILL, 10)


def is_running() -> bool:
    """Return True if this state dir's broker process is alive."""
    return _find_pid() is not None


def is_ready() -> bool:
    """Return True if the broker runs, has started and answers ApiVersions."""
    pid = _find_pid()
    return pid is not None and _ready(pid)


def reset() -> None:
    """Stop the broker and delete its data, so the next start() formats afresh."""
    with _proc.locked("kafka"):
        _terminate(signal.SIGTERM, 30)
        shutil.rmtree(_data_dir(), ignore_errors=True)
        _unlink(_cluster_id_path())


def run_tool(main_class: str, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a Kafka tool main class (e.g. TopicCommand) from the jars; capture output."""
    ensure_installed()
    proc = subprocess.run(
        _java_tool_cmd(main_class, args),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()[-10:]
        raise RuntimeError(f"{main_class} exited {proc.returncode}\n" + "\n".join(err))
    return proc


# --------------------------------------------------------------------------- CLI


def _status() -> int:
    pid = _find_pid()
    if pid is None:
        print("kafka: stopped")
        return 1
    if _ready(pid):
        print(f"kafka: ready pid={pid} bootstrap={bootstrap_servers()}")
        return 0
    print(f"kafka: running (not ready) pid={pid} log={_log_path()}")
    return 1


def _run(cmd: str, timeout: float | None) -> int:
    if cmd == "install":
        print(ensure_installed())
    elif cmd == "start":
        start(timeout if timeout is not None else 120)
        print(f"kafka: ready pid={_find_pid()} bootstrap={bootstrap_servers()}")
    elif cmd == "stop":
        stop(timeout if timeout is not None else 30)
        print("kafka: stopped")
    elif cmd == "kill":
        kill()
        print("kafka: killed")
    elif cmd == "reset":
        reset()
        print("kafka: stopped, data deleted")
    elif cmd == "status":
        return _status()
    elif cmd == "bootstrap":
        print(bootstrap_servers())
    elif cmd == "classpath":
        print(classpath())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    return _proc.cli(
        argv,
        prog="python -m infra.kafka",
        description="Single-node Kafka (KRaft) for RetroVault.",
        commands=["install", "start", "stop", "kill", "status", "reset", "bootstrap", "classpath"],
        run=_run,
        label="kafka",
    )


if __name__ == "__main__":
    sys.exit(main())
