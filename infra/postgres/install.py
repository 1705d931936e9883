"""PostgreSQL's binaries (installed with apt-get when missing) and the unprivileged OS user that runs them.

PostgreSQL refuses to run as root, so as root the server runs as ``postgres`` if that user exists, else as
a ``retrovault`` system user created here; as any other user it runs as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path

FALLBACK_OS_USER = "retrovault"

_PG_LIB = Path("/usr/lib/postgresql")
_CREATECLUSTER_CONF = Path("/etc/postgresql-common/createcluster.conf")
_PACKAGES = ("postgresql", "postgresql-contrib", "postgresql-client")
_SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")


def _bin_dirs() -> list[Path]:
    """Server bin directories of the installed versions, newest first."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for entry in _PG_LIB.iterdir() if _PG_LIB.is_dir() else ():
        version = entry.name.split(".")
        if all(p.isdigit() for p in version) and all((entry / "bin" / b).is_file() for b in _SERVER_PROGRAMS):
            found.append((tuple(map(int, version)), entry / "bin"))
    return [b for _, b in sorted(found, reverse=True)]


def bin_dir() -> Path:
    """The server bin directory of the newest installed PostgreSQL."""
    dirs = _bin_dirs()
    if not dirs:
        raise RuntimeError("PostgreSQL server binaries not found; `python -m infra.postgres start` installs them")
    return dirs[0]


def tool(name: str) -> str:
    """The path of PostgreSQL program ``name`` (``pg_ctl``, ``psql``, ``pgbench``...) matching the server."""
    candidate = bin_dir() / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found")
    return found


def ensure_installed() -> Path:
    """Install PostgreSQL with apt-get if its server binaries are missing; return the server bin directory.

    On a machine without postgresql-common, Debian's default ``main`` cluster
    (port 5432, started by the package) is suppressed: we run our own.
    """
    dirs = _bin_dirs()
    if dirs and (dirs[0] / "pgbench").is_file() and (dirs[0] / "psql").is_file():
        return dirs[0]
    if os.geteuid() != 0:
        raise RuntimeError("PostgreSQL is not installed and installing it needs root")
    if not _CREATECLUSTER_CONF.exists():
        _CREATECLUSTER_CONF.parent.mkdir(parents=True, exist_ok=True)
        _CREATECLUSTER_CONF.write_text("# Written by RetroVault infra/postgres\ncreate_main_cluster = false\n")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends",
         "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", *_PACKAGES],
    ):  # fmt: skip
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: " + "\n".join(tail))
    return bin_dir()


@cache
def os_user() -> str:
    """The OS user that runs the server, creating ``retrovault`` if root has no ``postgres`` user."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    for name in ("postgres", FALLBACK_OS_USER):
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    useradd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
    proc = subprocess.run(
        [*useradd, "--shell", "/usr/sbin/nologin", FALLBACK_OS_USER], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"useradd {FALLBACK_OS_USER} failed: {proc.stderr.strip()}")
    return FALLBACK_OS_USER


def as_user(cmd: Sequence[str]) -> list[str]:
    """``cmd`` prefixed so it runs as the server's OS user."""
    return ["runuser", "-u", os_user(), "--", *cmd] if os.geteuid() == 0 else list(cmd)


def clean_env() -> dict[str, str]:
    """This environment without ``PG*`` variables (they would redirect the tools), in a UTF-8 locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def run_as_user(
    cmd: Sequence[str], *, timeout: float, input_text: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` as the server's OS user from ``/``; RuntimeError on a timeout or (``check``) a failure."""
    try:
        proc = subprocess.run(
            as_user(cmd),
            input=input_text,
            capture_output=True,
            text=True,
            cwd="/",
            env=clean_env(),
            timeout=max(timeout, 1.0),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"timed out after {exc.timeout:.0f}s: {' '.join(cmd)}") from exc
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (rc={proc.returncode}): {(proc.stdout + proc.stderr).strip()}")
    return proc


def user_can_traverse(path: Path) -> bool:
    """True if the server's OS user can reach (search) ``path``."""
    if os.geteuid() != 0:
        return os.access(path, os.X_OK)
    return subprocess.run(as_user(["test", "-x", str(path)]), cwd="/", capture_output=True, check=False).returncode == 0


def give_to_user(path: Path, mode: int) -> None:
    """Make the server's OS user own ``path``, with permissions ``mode``."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam(os_user())
        os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, mode)
