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


class PeerProcess:
    """The peer server, started by this process and stopped by its pid."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.port = port()
        self.log_path = services.state_dir() / "log" / f"bench-peer-{gateway}.log"
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where it serves ``POST /orders``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs."""
        return self._child.pid if self._child is not None and self._child.poll() is None else None

    def start(self, timeout_s: float = 90.0) -> None:
        """Start it and wait until it answers ``/health``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bench.peer_dbos", "--port", str(self.port), "--gateway", self.gateway]
        env = {**os.environ, "RV_BENCH_DATABASE_URL": postgres.dsn(postgres.BENCH)}
        with self.log_path.open("ab") as log:
            self._child = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                break
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(f"{self.url}/health", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        self.stop()
        tail = self.log_path.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError("the DBOS peer did not start:\n" + "\n".join(tail))

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL if it is still there after ``timeout_s``."""
        child, self._child = self._child, None
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)

    def _pids(self) -> dict[str, int | None]:
        return {"dbos-peer": self.pid, "postgres": postgres.postmaster_pid(), "localstripe": localstripe.pid()}

    def target(self, mix: Mix) -> Target:
        """The peer as a benchmark target."""
        return Target(
            name="dbos",
            orders_url=self.url,
            terminal_dsn=plain_dsn(postgres.BENCH),
            terminal_table="peer_orders",
            pids=lambda: {
                "dbos-peer": self.pid,
                "postgres": postgres.postmaster_pid(),
                "localstripe": localstripe.pid(),
            },
            prepare=lambda: restock(mix),
            databases=(postgres.BENCH,),
        )
