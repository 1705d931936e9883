"""Where the project's PostgreSQL cluster keeps its files and listens.

``<state>`` is ``$RV_STATE_DIR`` or ``<repo>/.local``::

    <state>/log/postgres.log          server log (stdout/stderr of the postmaster)
    <state>/run/postgres.pid          copy of the postmaster pid
    <state>/run/postgres.cluster      the chosen cluster directory (see cluster_dir)
    <cluster>/data                    PGDATA
    <cluster>/run                     unix socket directory
    <cluster>/superuser.password      generated at initdb

``<cluster>`` is ``<state>/pg`` unless the server's OS user cannot traverse the state directory (e.g. a
repo cloned under ``/root``) or the socket path would be too long; then it is
``/var/tmp/retrovault-pg-<hash of the state dir>``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from infra import state
from infra.postgres.install import user_can_traverse
from plumbing.services import DEFAULT_PG_PORT

NAME = "postgres"

# sockaddr_un.sun_path is 108 bytes including the trailing NUL.
_MAX_SOCKET_PATH = 100
_CHOSEN: dict[tuple[Path, int], Path] = {}


def port() -> int:
    """The TCP port: ``$RV_PG_PORT`` or 55432."""
    return state.env_port("RV_PG_PORT", DEFAULT_PG_PORT)


def log_path() -> Path:
    """The server log."""
    return state.log_path(NAME)


def _socket_path_ok(cluster: Path) -> bool:
    return len(str(cluster / "run" / f".s.PGSQL.{port()}")) <= _MAX_SOCKET_PATH


def cluster_dir() -> Path:
    """The cluster's base directory, chosen (and recorded) once.

    The choice is stored in ``<state>/run/postgres.cluster`` so every call and every process agree; it
    is made again only if the recorded directory is no longer usable by the server's OS user.
    """
    key = (state.state_dir(), port())
    if key in _CHOSEN:
        return _CHOSEN[key]
    record = state.run_dir() / f"{NAME}.cluster"
    try:
        recorded = Path(text) if (text := record.read_text().strip()) else None
    except OSError:
        recorded = None
    if recorded and _socket_path_ok(recorded) and user_can_traverse(recorded if recorded.exists() else recorded.parent):
        chosen = recorded
    else:
        preferred = state.state_dir() / "pg"
        preferred.parent.mkdir(parents=True, exist_ok=True)
        if user_can_traverse(preferred.parent) and _socket_path_ok(preferred):
            chosen = preferred
        else:
            chosen = Path("/var/tmp") / f"retrovault-pg-{hashlib.sha256(str(key[0]).encode()).hexdigest()[:10]}"
        state.write_atomically(record, f"{chosen}\n")
    _CHOSEN[key] = chosen
    return chosen


def data_dir() -> Path:
    """PGDATA."""
    return cluster_dir() / "data"


def socket_dir() -> Path:
    """The unix socket directory."""
    return cluster_dir() / "run"
