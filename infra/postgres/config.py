"""Creating the cluster (initdb) and the configuration it runs with, rewritten on every start."""

from __future__ import annotations

import secrets
import shutil
import subprocess

from infra import state
from infra.postgres.install import bin_dir, give_to_user, run_as_user
from infra.postgres.layout import cluster_dir, data_dir, port, socket_dir

SUPERUSER = "postgres"

_CONF_NAME = "retrovault.conf"
_MANAGED = "# Managed by infra/postgres; rewritten on every start.\n"


def _locale() -> str:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    return "C.UTF-8" if "c.utf8" in {n.strip().lower().replace("-", "") for n in out.splitlines()} else "C"


def prepare_dirs() -> None:
    """Create the state and cluster directories, the cluster's owned by the server's OS user."""
    for d in (state.state_dir() / "log", state.run_dir()):
        d.mkdir(parents=True, exist_ok=True)
    for d in (cluster_dir(), data_dir(), socket_dir()):
        d.mkdir(parents=True, exist_ok=True)
        give_to_user(d, 0o700)


def ensure_cluster(timeout: float) -> None:
    """Run initdb unless PGDATA holds a cluster already (leftovers of an interrupted initdb are removed)."""
    prepare_dirs()
    if (data_dir() / "PG_VERSION").exists():
        return
    if any(data_dir().iterdir()):
        shutil.rmtree(data_dir())
        prepare_dirs()
    pwfile = cluster_dir() / "superuser.password"
    if not pwfile.exists():
        pwfile.write_text(secrets.token_urlsafe(24) + "\n")
    give_to_user(pwfile, 0o600)
    run_as_user(
        [str(bin_dir() / "initdb"), "-D", str(data_dir()), "-U", SUPERUSER, f"--pwfile={pwfile}",
         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", f"--locale={_locale()}"],
        timeout=timeout,
    )  # fmt: skip
    with (data_dir() / "postgresql.conf").open("a") as fh:
        fh.write(f"\n# RetroVault settings (rewritten by infra/postgres on start)\ninclude_if_exists '{_CONF_NAME}'\n")


def write_config() -> None:
    """Write the server settings and client authentication rules for the current port and socket directory."""
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
    hba = (
        "# TYPE  DATABASE  USER  ADDRESS  METHOD\n"
        f"local   all       {SUPERUSER}  trust\n"
        "host    all       all   127.0.0.1/32  scram-sha-256\n"
    )
    for name, text in ((_CONF_NAME, "".join(f"{k} = {v}\n" for k, v in settings.items())), ("pg_hba.conf", hba)):
        tmp = data_dir() / f".{name}.tmp"
        tmp.write_text(_MANAGED + text)
        give_to_user(tmp, 0o600)
        tmp.replace(data_dir() / name)
