"""One database and one login role per service (and ``bench`` for the benchmark), and their DSNs.

The services come from ``plumbing.services``; a database's role has its name, and so has its password (a
local development cluster only).
"""

from __future__ import annotations

import re

from infra.postgres.config import SUPERUSER
from infra.postgres.install import run_as_user, tool
from infra.postgres.layout import port, socket_dir
from plumbing.services import ALL_SERVICES

BENCH = "bench"

_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def databases() -> list[str]:
    """Every database the cluster holds for the project: each service's, then ``bench``."""
    return list(dict.fromkeys([*(s.database for s in ALL_SERVICES), BENCH]))


def _checked(name: str) -> str:
    if not _IDENT_RE.match(name):
        raise ValueError(f"invalid database/role name: {name!r}")
    return name


def ensure_databases(timeout: float = 30) -> None:
    """Idempotently create each database with its owner role, revoking CONNECT from everyone else.

    A service can thus only connect to its own database.
    """
    lines = ["SET client_min_messages = warning;", "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;"]
    for name in map(_checked, databases()):
        literal = f"'{name}'"
        lines += [
            f"SELECT format('CREATE ROLE %I LOGIN', {literal}) "
            f"WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal}) \\gexec",
            f'ALTER ROLE "{name}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {literal};',
            f"SELECT format('CREATE DATABASE %I OWNER %I', {literal}, {literal}) "
            f"WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = {literal}) \\gexec",
            f'ALTER DATABASE "{name}" OWNER TO "{name}";',
            f'REVOKE CONNECT, TEMPORARY ON DATABASE "{name}" FROM PUBLIC;',
            f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO "{name}";',
        ]
    psql = [tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(socket_dir()), "-p", str(port())]
    script = "\n".join(lines) + "\n"
    run_as_user([*psql, "-U", SUPERUSER, "-d", "postgres", "-f", "-"], input_text=script, timeout=timeout)


def dsn(database: str) -> str:
    """The SQLAlchemy/psycopg DSN of ``database`` as its own role (e.g. a service's, or ``bench``)."""
    name = _checked(database)
    return f"postgresql+psycopg://{name}:{name}@127.0.0.1:{port()}/{name}"
