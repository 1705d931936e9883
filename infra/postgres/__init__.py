"""The project's own PostgreSQL cluster (dev, tests and CI), a :class:`infra.component.Component`.

``install`` finds or installs the binaries and the OS user, ``layout`` says where its files are,
``config`` creates and configures the cluster, ``cluster`` runs it and ``roles`` creates the databases.
Pure stdlib, plus ``plumbing.services``. CLI: ``python -m infra.postgres start|stop|kill|status``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from infra.postgres.cluster import is_running, kill, postmaster_pid, restart_immediate, start, stop
from infra.postgres.install import tool
from infra.postgres.layout import NAME, cluster_dir, port
from infra.postgres.roles import BENCH, dsn

__all__ = [
    "BENCH",
    "dsn",
    "is_running",
    "kill",
    "name",
    "pgbench_path",
    "port",
    "postmaster_pid",
    "restart_immediate",
    "start",
    "state_dir",
    "stop",
]

name: Final = NAME


def state_dir() -> Path:
    """The cluster's directory: PGDATA, its socket directory and the superuser's password."""
    return cluster_dir()


def pgbench_path() -> str:
    """The ``pgbench`` matching the server's version."""
    return tool("pgbench")
