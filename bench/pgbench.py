"""The database's own limit: ``pgbench -N`` (simple update) on the ``bench`` database of the same server.

Every pgbench transaction is one commit, like each of our short transactions, so its rate at the best
client count is the server's commit ceiling on this machine (fsync and synchronous_commit stay on).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from infra import postgres

_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
_LATENCY = re.compile(r"latency average = ([0-9.]+) ms")


@dataclass(frozen=True)
class PgbenchRun:
    """One pgbench run: client count, transactions per second, average latency."""

    clients: int
    tps: float
    latency_ms: float


def _base_args() -> list[str]:
    return [postgres.pgbench_path(), "-h", "127.0.0.1", "-p", str(postgres.port()), "-U", postgres.BENCH]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = postgres.BENCH
    return env


def initialise(scale: int) -> None:
    """(Re)create pgbench's tables at ``scale`` (100,000 accounts per unit)."""
    subprocess.run(
        [*_base_args(), "-i", "-q", "-s", str(scale), "--foreign-keys", postgres.BENCH],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )


def run(clients: int, seconds: int) -> PgbenchRun:
    """``pgbench -N -M prepared`` with ``clients`` connections for ``seconds``."""
    threads = max(1, min(clients, os.cpu_count() or 1))
    options = ["-N", "-M", "prepared", "-c", str(clients), "-j", str(threads), "-T", str(seconds)]
    proc = subprocess.run(
        [*_base_args(), *options, postgres.BENCH],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    tps = _TPS.search(proc.stdout)
    latency = _LATENCY.search(proc.stdout)
    if tps is None:
        raise RuntimeError(f"could not read pgbench's tps from:\n{proc.stdout}\n{proc.stderr}")
    return PgbenchRun(clients, float(tps.group(1)), float(latency.group(1)) if latency else 0.0)


def sweep(client_counts: tuple[int, ...], seconds: int, scale: int) -> list[PgbenchRun]:
    """Initialise once, then one run per client count, printing each."""
    print(f"==> pgbench -N on database {postgres.BENCH}: scale {scale}, {seconds}s per client count", flush=True)
    initialise(scale)
    runs = []
    for clients in client_counts:
        result = run(clients, seconds)
        print(f"    {clients:3d} clients: {result.tps:8.1f} tps, {result.latency_ms:.2f} ms average", flush=True)
        runs.append(result)
    return runs
