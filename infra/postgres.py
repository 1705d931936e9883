"""Project-owned PostgreSQL cluster for RetroVault (dev, tests and CI).

Pure stdlib so it can run before the project venv exists.  The server runs as
an unprivileged OS user (``postgres`` if present, else a ``retrovault`` system
user) because PostgreSQL refuses to run as root.

Layout (``<state>`` is ``$RV_STATE_DIR`` or ``<repo>/.local``)::

    <state>/log/postgres.log      server log (stdout/stderr of the postmaster)
    <state>/run/postgres.pid      copy of the postmaster pid
    <state>/run/postgres.cluster  the chosen cluster directory (see cluster_dir)
    <cluster>/data                PGDATA
    <cluster>/run                 unix socket directory

``<cluster>`` is ``<state>/pg`` unless the OS user cannot traverse the state
directory (e.g. a repo cloned under ``/root``) or the socket path would be too
long; then it is ``/var/tmp/retrovault-pg-<hash of the state dir>``.

CLI: ``python -m infra.postgres {install,start,stop,kill,status,restart-immediate}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from infra import _proc

NAME = "postgres"
DEFAULT_PORT = 55432
SUPERUSER = "postgres"
DEFAULT_SERVICES: tuple[str, ...] = ("catalog", "orders", "payment", "coordinator")
BENCH = "bench"
FALLBACK_OS_USER = "retrovault"

_PG_LIB = Path("/usr/lib/postgresql")
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# sockaddr_un.sun_path is 108 bytes including the trailing NUL.
_MAX_SOCKET_PATH = 100
_CONF_NAME = "retrovault.conf"
_CLUSTER_CACHE: dict[tuple[str, int], Path] = {}


# --------------------------------------------------------------------------
# paths and settings


def state_dir() -> Path:
    """Return the state directory (``$RV_STATE_DIR`` or ``<repo>/.local``)."""
    return _proc.state_dir()


def port() -> int:
    """Return the TCP port (``$RV_PG_PORT``, default 55432)."""
    return _proc.env_port("RV_PG_PORT", DEFAULT_PORT)


def log_path() -> Path:
    """Return the server log file path."""
    return _proc.log_path(NAME)


def pid_path() -> Path:
    """Return the pid file path (a copy of the postmaster pid)."""
    return _proc.pid_path(NAME)


def _choice_path() -> Path:
    return _proc.run_dir() / f"{NAME}.cluster"


def data_dir() -> Path:
    """Return PGDATA."""
    return cluster_dir() / "data"


def socket_dir() -> Path:
    """Return the unix socket directory."""
    return cluster_dir() / "run"


def _fallback_cluster_dir() -> Path:
    digest = hashlib.sha256(str(state_dir()).encode()).hexdigest()[:10]
    return Path("/var/tmp") / f"retrovault-pg-{digest}"


def _socket_path_ok(cluster: Path) -> bool:
    return len(str(cluster / "run" / f".s.PGSQL.{port()}")) <= _MAX_SOCKET_PATH


def cluster_dir() -> Path:
    """Return the cluster base directory, deciding (and recording) it once.

    The decision is stored in ``<state>/run/postgres.cluster`` so every call
    and every process agree; it is re-made only if the recorded directory is
    no longer usable by the server's OS user.
    """
    key = (str(state_dir()), port())
    cached = _CLUSTER_CACHE.get(key)
    if cached is not None:
        return cached
    record = _choice_path()
    try:
        text = record.read_text().strip()
    except OSError:
        text = ""
    if text:
        recorded = Path(text)
        if _socket_path_ok(recorded) and _user_can_traverse(recorded if recorded.exists() else recorded.parent):
            _CLUSTER_CACHE[key] = recorded
            return recorded
    preferred = state_dir() / "pg"
    state_dir().mkdir(parents=True, exist_ok=True)
    usable = _user_can_traverse(state_dir()) and _socket_path_ok(preferred)
    chosen = preferred if usable else _fallback_cluster_dir()
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(f"{chosen}\n")
    _CLUSTER_CACHE[key] = chosen
    return chosen


# --------------------------------------------------------------------------
# binaries and OS user


def _bin_dirs() -> list[Path]:
    found: list[tuple[tuple[int, ...], Path]] = []
    if _PG_LIB.is_dir():
        for entry in _PG_LIB.iterdir():
            bindir = entry / "bin"
            if not all((bindir / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
                continue
            try:
                version = tuple(int(p) for p in entry.name.split("."))
            except ValueError:
                continue
            found.append((version, bindir))
    return [b for _, b in sorted(found, reverse=True)]


def bin_dir() -> Path:
    """Return the server bin dir of the highest installed PostgreSQL version."""
    dirs = _bin_dirs()
    if not dirs:
        raise RuntimeError("PostgreSQL server binaries not found; run `python -m infra.postgres install`")
    return dirs[0]


def _tool(name: str) -> str:
    candidate = bin_dir() / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found")
    return found


def pgbench_path() -> str:
    """Return the path of the ``pgbench`` binary matching the server version."""
    return _tool("pgbench")


def psql_path() -> str:
    """Return the path of the ``psql`` binary matching the server version."""
    return _tool("psql")


_CREATECLUSTER_CONF = Path("/etc/postgresql-common/createcluster.conf")


def ensure_installed() -> Path:
    """Install PostgreSQL with apt-get if its server binaries are missing.

    On a machine without postgresql-common, Debian's default ``main`` cluster
    (port 5432, started by the package) is suppressed: we run our own.
    Returns the server bin directory.
    """
    dirs = _bin_dirs()
    if dirs and (dirs[0] / "pgbench").is_file() and (dirs[0] / "psql").is_file():
        return dirs[0]
    if os.geteuid() != 0:
        raise RuntimeError("PostgreSQL is not installed and installing it needs root")
    if not _CREATECLUSTER_CONF.exists():
        _CREATECLUSTER_CONF.parent.mkdir(parents=True, exist_ok=True)
        _CREATECLUSTER_CONF.write_text("# Written by RetroVault infra/postgres.py\ncreate_main_cluster = false\n")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    packages = ["postgresql", "postgresql-contrib", "postgresql-client"]
    for cmd in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends",
         "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", *packages],
    ):  # fmt: skip
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: " + "\n".join(tail))
    dirs = _bin_dirs()
    if not dirs:
        raise RuntimeError("apt-get installed postgresql but no server binaries were found")
    return dirs[0]


def os_user() -> str:
    """Return the unprivileged OS user that runs the server, creating it if needed."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    for name in ("postgres", FALLBACK_OS_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    proc = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_OS_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"useradd {FALLBACK_OS_USER} failed: {proc.stderr.strip()}")
    return FALLBACK_OS_USER


def _as_user(cmd: Sequence[str]) -> list[str]:
    """Prefix ``cmd`` so it runs as the server's OS user."""
    if os.geteuid() != 0:
        return list(cmd)
    return ["runuser", "-u", os_user(), "--", *cmd]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def _run_as_user(
    cmd: Sequence[str],
    *,
    timeout: float,
    input_text: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            _as_user(cmd),
            input=input_text,
            capture_output=True,
            text=True,
            cwd="/",
            env=_clean_env(),
            timeout=max(timeout, 1.0),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"timed out after {exc.timeout:.0f}s: {' '.join(cmd)}") from exc
    if check and proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        raise RuntimeError(f"{' '.join(cmd)} failed (rc={proc.returncode}): {out}")
    return proc


def _user_can_traverse(path: Path) -> bool:
    """True if the server's OS user can reach (search) ``path``."""
    if os.geteuid() != 0:
        return os.access(path, os.X_OK)
    proc = subprocess.run(_as_user(["test", "-x", str(path)]), cwd="/", capture_output=True, check=False)
    return proc.returncode == 0


def _chown_to_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(os_user())
    os.chown(path, entry.pw_uid, entry.pw_gid)


# --------------------------------------------------------------------------
# process inspection


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
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        if Path(exe).name in ("postgres", "postmaster") and _proc.alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _postmaster_pid_file() -> Path:
    return data_dir() / "postmaster.pid"


def postmaster_pid() -> int | None:
    """Return the pid of the running postmaster, or None."""
    try:
        first = _postmaster_pid_file().read_text().splitlines()[0]
        pid = int(first.strip())
    except (OSError, ValueError, IndexError):
        return None
    if not _proc.alive(pid):
        return None
    try:
        if os.readlink(f"/proc/{pid}/cwd") != str(data_dir()):
            return None
    except OSError:
        return None
    return pid


def is_running() -> bool:
    """True if our postmaster process is alive."""
    return postmaster_pid() is not None


def is_ready() -> bool:
    """True if the server accepts TCP connections on 127.0.0.1:<port>."""
    if not is_running():
        return False
    try:
        proc = subprocess.run(
            [
                _tool("pg_isready"),
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(port()),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-t",
                "2",
            ],
            capture_output=True,
            env=_clean_env(),
            timeout=5,
            check=False,
        )
    except (subprocess.TimeoutExpired, RuntimeError):
        return False
    return proc.returncode == 0


def _log_tail(lines: int = 30) -> str:
    """Return a one-line hint (last FATAL/ERROR) followed by the log tail."""
    tail = _proc.tail_lines(log_path(), lines)
    if tail is None:
        return f"(no log at {log_path()})"
    hints = [ln for ln in tail if "FATAL" in ln or "PANIC" in ln or "ERROR" in ln]
    hint = hints[-1].split("UTC ", 1)[-1] if hints else "see log"
    return f"{hint} (log: {log_path()})\n" + "\n".join(tail)


# --------------------------------------------------------------------------
# cluster setup


def superuser_password() -> str:
    """Return the cluster superuser password (generated at initdb)."""
    return (cluster_dir() / "superuser.password").read_text().strip()


def _locale() -> str:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    names = {n.strip().lower().replace("-", "") for n in out.splitlines()}
    return "C.UTF-8" if "c.utf8" in names else "C"


def _prepare_dirs() -> None:
    base = cluster_dir()
    for d in (state_dir() / "log", state_dir() / "run"):
        d.mkdir(parents=True, exist_ok=True)
    base.mkdir(parents=True, exist_ok=True)
    _chown_to_user(base)
    os.chmod(base, 0o700)
    for sub in (base / "data", base / "run"):
        sub.mkdir(exist_ok=True)
        _chown_to_user(sub)
        os.chmod(sub, 0o700)


def _initdb(timeout: float) -> None:
    base = cluster_dir()
    pwfile = base / "superuser.password"
    if not pwfile.exists():
        pwfile.write_text(secrets.token_urlsafe(24) + "\n")
    _chown_to_user(pwfile)
    os.chmod(pwfile, 0o600)
    _run_as_user(
        [
            str(bin_dir() / "initdb"),
            "-D",
            str(data_dir()),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            f"--locale={_locale()}",
        ],
        timeout=timeout,
    )
    conf = data_dir() / "postgresql.conf"
    with conf.open("a") as fh:
        fh.write(
            f"\n# RetroVault settings (rewritten by infra/postgres.py on start)\ninclude_if_exists '{_CONF_NAME}'\n"
        )


def _write_config() -> None:
    data = data_dir()
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port()),
        "unix_socket_directories": f"'{socket_dir()}'",
        "unix_socket_permissions": "0700",
        "max_connections": "200",
        "shared_buffers": "256MB",
        # Durability stays ON: the project tests crash safety.
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "password_encryption": "'scram-sha-256'",
        "logging_collector": "off",
        "log_destination": "'stderr'",
        "log_line_prefix": "'%m [%p] %q%u@%d '",
        "log_timezone": "'UTC'",
        "timezone": "'UTC'",
    }
    body = "# Managed by infra/postgres.py; rewritten on every start.\n" + "".join(
        f"{k} = {v}\n" for k, v in settings.items()
    )
    hba = (
        "# Managed by infra/postgres.py; rewritten on every start.\n"
        "# TYPE  DATABASE  USER  ADDRESS  METHOD\n"
        f"local   all       {SUPERUSER}  trust\n"
        "host    all       all   127.0.0.1/32  scram-sha-256\n"
    )
    for name, text in ((_CONF_NAME, body), ("pg_hba.conf", hba)):
        path = data / name
        tmp = data / f".{name}.tmp"
        tmp.write_text(text)
        _chown_to_user(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


def _reap_orphans(deadline: float) -> None:
    """Make sure no backend of a dead postmaster still holds the data dir."""
    if is_running():
        return
    leftovers = _cluster_processes()
    if not leftovers:
        return
    # Backends exit by themselves once they notice the postmaster died.
    grace = min(deadline, time.monotonic() + 2)
    if _proc.wait_until(lambda: not _cluster_processes(), grace):
        return
    for pid in _cluster_processes():
        _proc.send_signal(pid, signal.SIGKILL)
    if not _proc.wait_until(lambda: not _cluster_processes(), deadline):
        raise RuntimeError(f"orphaned postgres processes still alive: {_cluster_processes()}")


def _remove_stale_pid_files() -> None:
    """Remove lock/pid files of a dead postmaster.

    PostgreSQL itself refuses to start while the pid in a lock file still
    exists, which includes an unreaped zombie or an unrelated process that
    reused the pid.  Only called once no process of the cluster is alive.
    """
    if is_running():
        return
    stale = [_postmaster_pid_file(), pid_path()]
    if socket_dir().is_dir():
        stale += list(socket_dir().glob(".s.PGSQL.*"))
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _write_pid_file() -> None:
    pid = postmaster_pid()
    if pid is not None:
        _proc.write_pid(pid_path(), pid)


# --------------------------------------------------------------------------
# lifecycle


def _running_port() -> int | None:
    """Port recorded by the running postmaster (line 4 of postmaster.pid)."""
    try:
        return int(_postmaster_pid_file().read_text().splitlines()[3])
    except (OSError, ValueError, IndexError):
        return None


def start(timeout: float = 60) -> None:
    """Start the cluster (initdb on first use) and wait until it is ready.

    Idempotent; recovers from a stale pid file or a killed postmaster.  Calls
    :func:`ensure_databases` once the server is ready.
    """
    deadline = time.monotonic() + timeout
    ensure_installed()
    with _proc.locked(NAME):
        _start_locked(timeout, deadline)


def _start_locked(timeout: float, deadline: float) -> None:
    if is_running():
        running_port = _running_port()
        if running_port is not None and running_port != port():
            raise RuntimeError(
                f"postgres is already running on port {running_port}, not {port()} (RV_PG_PORT); stop it first"
            )
        # Already up (or starting/recovering): wait for ready unless it dies.
        _proc.wait_until(lambda: is_ready() or not is_running(), deadline, 0.1)
        if is_ready():
            _write_pid_file()
            ensure_databases(timeout=max(deadline - time.monotonic(), 5))
            return
        if is_running():
            raise RuntimeError(f"postgres is running but not ready after {timeout}s: {_log_tail()}")
    _prepare_dirs()
    if not (data_dir() / "PG_VERSION").exists():
        if any(data_dir().iterdir()):
            # Leftovers of an interrupted initdb: not a usable cluster.
            shutil.rmtree(data_dir())
            _prepare_dirs()
        _initdb(max(deadline - time.monotonic(), 5))
    _write_config()
    _reap_orphans(deadline)
    _remove_stale_pid_files()
    remaining = max(int(deadline - time.monotonic()), 1)
    with _proc.open_log(log_path(), f"--- infra.postgres start {time.strftime('%Y-%m-%dT%H:%M:%S')} ---") as log:
        # The postmaster inherits this file as stdout/stderr, so the log lives in
        # <state>/log even when the OS user cannot reach the state directory.
        proc = subprocess.run(
            _as_user(
                [
                    str(bin_dir() / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    str(remaining),
                    "-D",
                    str(data_dir()),
                    "-s",
                ]
            ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd="/",
            env=_clean_env(),
            check=False,
        )
    if proc.returncode != 0 or not _proc.wait_until(is_ready, deadline, 0.05):
        raise RuntimeError(f"postgres failed to start (pg_ctl rc={proc.returncode}); {_log_tail()}")
    _write_pid_file()
    ensure_databases(timeout=max(deadline - time.monotonic(), 5))


def _pg_ctl_stop(mode: str, timeout: float) -> bool:
    proc = _run_as_user(
        [
            str(bin_dir() / "pg_ctl"),
            "stop",
            "-w",
            "-t",
            str(max(int(timeout), 1)),
            "-m",
            mode,
            "-D",
            str(data_dir()),
            "-s",
        ],
        timeout=timeout + 5,
        check=False,
    )
    return proc.returncode == 0 or not is_running()


def stop(timeout: float = 30) -> None:
    """Stop the server with ``pg_ctl stop -m fast`` (escalating to immediate)."""
    deadline = time.monotonic() + timeout
    with _proc.locked(NAME):
        _stop_locked(timeout, deadline)


def _stop_locked(timeout: float, deadline: float) -> None:
    if not is_running():
        _remove_stale_pid_files()
        return
    if not _pg_ctl_stop("fast", max(deadline - time.monotonic(), 1)):
        _pg_ctl_stop("immediate", max(deadline - time.monotonic(), 5))
    if is_running():
        raise RuntimeError(f"postgres did not stop within {timeout}s: {_log_tail()}")
    _remove_stale_pid_files()


def restart_immediate(timeout: float = 60) -> None:
    """Crash-like restart: ``pg_ctl stop -m immediate`` then :func:`start`."""
    deadline = time.monotonic() + timeout
    if is_running() and not _pg_ctl_stop("immediate", max(deadline - time.monotonic(), 1)):
        raise RuntimeError(f"pg_ctl stop -m immediate failed: {_log_tail()}")
    start(timeout=max(deadline - time.monotonic(), 1))


def kill() -> None:
    """SIGKILL the postmaster (fault injection); a later :func:`start` recovers.

    Backends that do not notice the postmaster's death within 2s (e.g. busy in
    a long query) are SIGKILLed too, so start() can run immediately after.
    """
    pid = postmaster_pid()
    if pid is None:
        return
    _proc.signal_and_wait(pid, signal.SIGKILL, 10)
    _reap_orphans(time.monotonic() + 10)


# --------------------------------------------------------------------------
# databases


def _psql_cmd() -> list[str]:
    return [
        psql_path(),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        str(socket_dir()),
        "-p",
        str(port()),
        "-U",
        SUPERUSER,
    ]


def admin_psql_args() -> list[str]:
    """Command prefix running psql as the superuser over the unix socket.

    Append e.g. ``["-d", "orders", "-c", "SELECT 1"]``.
    """
    return _as_user(_psql_cmd())


def _check_ident(name: str) -> str:
    if not _IDENT_RE.match(name):
        raise ValueError(f"invalid service/role name: {name!r}")
    return name


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure_databases(services: Iterable[str] = DEFAULT_SERVICES, *, timeout: float = 30) -> None:
    """Idempotently create one LOGIN role and one private database per service.

    Password = role name (dev only).  CONNECT is revoked from PUBLIC so a
    service can only connect to its own database.  Also creates ``bench``.
    """
    names = [_check_ident(s) for s in services]
    if BENCH not in names:
        names.append(BENCH)
    lines = [
        "SET client_min_messages = warning;",
        "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;",
    ]
    for name in names:
        lit = _sql_literal(name)
        lines += [
            (
                f"SELECT format('CREATE ROLE %I LOGIN', {lit}) "
                "WHERE NOT EXISTS "
                f"(SELECT 1 FROM pg_roles WHERE rolname = {lit}) \\gexec"
            ),
            (f'ALTER ROLE "{name}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {lit};'),
            (
                f"SELECT format('CREATE DATABASE %I OWNER %I', {lit}, {lit}) "
                "WHERE NOT EXISTS "
                f"(SELECT 1 FROM pg_database WHERE datname = {lit}) \\gexec"
            ),
            f'ALTER DATABASE "{name}" OWNER TO "{name}";',
            f'REVOKE CONNECT, TEMPORARY ON DATABASE "{name}" FROM PUBLIC;',
            f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO "{name}";',
        ]
    _run_as_user(
        [*_psql_cmd(), "-d", "postgres", "-f", "-"],
        input_text="\n".join(lines) + "\n",
        timeout=timeout,
    )


def dsn(service: str) -> str:
    """Return the SQLAlchemy/psycopg DSN of ``service`` (role = db = password)."""
    name = _check_ident(service)
    return f"postgresql+psycopg://{name}:{name}@127.0.0.1:{port()}/{name}"


# --------------------------------------------------------------------------
# CLI


def _status() -> int:
    running = is_running()
    ready = running and is_ready()
    pid = postmaster_pid()
    state = "ready" if ready else ("running (not ready)" if running else "stopped")
    print(f"postgres: {state} pid={pid or '-'} port={port()} cluster={cluster_dir()} log={log_path()}")
    return 0 if ready else (1 if running else 3)


def _run(command: str, timeout: float | None) -> int:
    if command == "install":
        print(f"postgres binaries: {ensure_installed()}; pgbench: {pgbench_path()}")
    elif command == "start":
        start(timeout or 60)
        print(f"postgres ready on 127.0.0.1:{port()} (cluster {cluster_dir()})")
    elif command == "stop":
        stop(timeout or 30)
        print("postgres stopped")
    elif command == "kill":
        kill()
        print("postgres killed")
    elif command == "restart-immediate":
        restart_immediate(timeout or 60)
        print(f"postgres restarted on 127.0.0.1:{port()}")
    else:
        return _status()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    return _proc.cli(
        argv,
        prog="python -m infra.postgres",
        commands=["install", "start", "stop", "kill", "status", "restart-immediate"],
        run=_run,
        label="infra.postgres {command}",
    )


if __name__ == "__main__":
    sys.exit(main())
