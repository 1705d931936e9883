"""Runs the DBOS peer (``bench.peer_dbos``) as a process of its own, on the ``bench`` database.

The peer gets a fresh state on every start: its DBOS schemas are dropped and its orders table emptied,
and its shelves are stocked with the same products (and prices) as the catalog.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

from bench.load import Mix
from bench.measure import Target
from bench.stack import FULL_STOCK, SCARCE_STOCK, plain_dsn
from infra import localstripe, postgres, services

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS peer_products (
    sku text PRIMARY KEY, price_cents integer NOT NULL, stock integer NOT NULL CHECK (stock >= 0));
CREATE TABLE IF NOT EXISTS peer_orders (
    order_id text PRIMARY KEY, customer_id text NOT NULL, sku text NOT NULL, quantity integer NOT NULL,
    total_cents bigint NOT NULL, payment_method text NOT NULL, state text NOT NULL, reason text,
    created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);
CREATE INDEX IF NOT EXISTS peer_orders_finished ON peer_orders (finished_at) WHERE finished_at IS NOT NULL;
"""


def port() -> int:
    """``$RV_BENCH_PEER_PORT``, else the coordinator's port + 1 (8105 on the default stack)."""
    explicit = os.environ.get("RV_BENCH_PEER_PORT", "").strip()
    if explicit:
        return int(explicit)
    return int(os.environ.get("RV_COORDINATOR_PORT", "8104") or "8104") + 1


def reset_database(catalogue: list[dict[str, Any]]) -> None:
    """Fresh peer state: no DBOS history, no orders, the catalogue's products."""
    with psycopg.connect(plain_dsn(postgres.BENCH), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS dbos_sys CASCADE")
        conn.execute("DROP SCHEMA IF EXISTS dbos CASCADE")
        for statement in filter(str.strip, SCHEMA_SQL.split(";")):
            conn.execute(statement)
        conn.execute("TRUNCATE peer_orders, peer_products")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO peer_products (sku, price_cents, stock) VALUES (%s, %s, 0)",
                [(str(p["sku"]), int(p["price_cents"])) for p in catalogue],
            )


def restock(mix: Mix) -> None:
    """Fill the peer's shelves like :func:`bench.stack.restock` fills the catalog's."""
    with psycopg.connect(plain_dsn(postgres.BENCH), autocommit=True) as conn:
        conn.execute("UPDATE peer_products SET stock = %s WHERE sku = ANY(%s)", (FULL_STOCK, list(mix.stocked_skus)))
        conn.execute("UPDATE peer_products SET stock = %s WHERE sku = %s", (SCARCE_STOCK, mix.scarce_sku))


def cores() -> int:
    """One peer process per core, as a DBOS user would run it (two on the benchmark's box)."""
    return max(os.cpu_count() or 1, 1)


class PeerProcess:
    """The peer server: ``copies`` processes sharing its port (SO_REUSEPORT), started by this process and
    stopped by their pids."""

    def __init__(self, gateway: str, *, copies: int | None = None, latency_ms: int = 200) -> None:
        self.gateway = gateway
        self.copies = copies or cores()
        self.latency_ms = latency_ms
        self.port = port()
        self.log_path = services.state_dir() / "log" / f"bench-peer-{gateway}.log"
        self._children: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """Where it serves ``POST /orders``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pids(self) -> dict[str, int | None]:
        """Each copy's pid while it runs, by name (``dbos-peer-1``, ...)."""
        return {
            f"dbos-peer-{k}": child.pid if child.poll() is None else None
            for k, child in enumerate(self._children, start=1)
        }

    def start(self, timeout_s: float = 90.0) -> None:
        """Start the copies one after the other (the first creates DBOS's schema), each answering ``/health``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bench.peer_dbos", "--port", str(self.port), "--gateway", self.gateway]
        command += ["--latency-ms", str(self.latency_ms), "--reuse-port"]
        env = {**os.environ, "RV_BENCH_DATABASE_URL": postgres.dsn(postgres.BENCH)}
        env.setdefault("RV_STRIPE_API_BASE", localstripe.api_base())  # the emulator only when its URL is given
        for _ in range(self.copies):
            with self.log_path.open("ab") as log:
                child = subprocess.Popen(
                    command,
                    cwd=REPO_ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            self._children.append(child)
            self._wait_healthy(child, timeout_s)

    def _wait_healthy(self, child: subprocess.Popen[bytes], timeout_s: float) -> None:
        """Until ``child`` itself listens and the port answers (a copy already up answers on it too)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and child.poll() is None:
            if self._answers() and _listens(child.pid, self.port):
                return
            time.sleep(0.2)
        self.stop()
        tail = self.log_path.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError("the DBOS peer did not start:\n" + "\n".join(tail))

    def _answers(self) -> bool:
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"{self.url}/health", timeout=2) as response,
        ):
            return bool(response.status == 200)
        return False

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM each copy, then SIGKILL those still there after ``timeout_s``."""
        children, self._children = self._children, []
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)

    def target(self, mix: Mix) -> Target:
        """The peer as a benchmark target."""
        return Target(
            name="dbos",
            orders_url=self.url,
            terminal_dsn=plain_dsn(postgres.BENCH),
            terminal_table="peer_orders",
            pids=lambda: {**self.pids, "postgres": postgres.postmaster_pid(), "localstripe": localstripe.pid()},
            prepare=lambda: restock(mix),
            databases=(postgres.BENCH,),
        )


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` has a socket listening on ``port`` (from /proc: its fds and the TCP table)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                inodes.add(os.readlink(fd))
    try:
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:  # gone
        return False
    for line in table:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        if local_port == port and state == "0A" and f"socket:[{inode}]" in inodes:  # 0A: LISTEN
            return True
    return False
