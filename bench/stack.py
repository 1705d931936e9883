"""The stack under test: bring it up if needed, find its processes, stock its shelves, swap the gateway.

Everything follows the same ``RV_*`` environment variables as ``infra`` and the services, so the
benchmark runs against whichever local stack they point at (its own, ideally: see docs/performance.md).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.load import Mix
from bench.measure import Target
from infra import kafka, localstripe, postgres, services
from infra import stack as infra_stack
from plumbing.services import SERVICES, service
from plumbing.settings import service_url

SERVICE_DATABASES = tuple(s.database for s in SERVICES)
FULL_STOCK = 1_000_000
SCARCE_STOCK = 5
PREFERRED_SCARCE_SKU = "SNES-EARTHBOUND"
_INSTANCES = [1]
"""How many instances of every service the benchmark runs (``--instances``)."""


def use_instances(count: int) -> None:
    """Run (and watch) ``count`` instances of every service from now on."""
    if count < 1:
        raise ValueError(f"--instances must be at least 1, not {count}")
    _INSTANCES[0] = count


def copies(names: tuple[str, ...] = services.SERVICES) -> list[tuple[str, int]]:
    """Every (service, instance) the benchmark runs, services in start order."""
    return [(name, k) for name in names for k in range(1, _INSTANCES[0] + 1)]


def _start_and_wait(names: tuple[str, ...] = services.SERVICES, extra_env: dict[str, str] | None = None) -> None:
    for name, k in copies(names):
        services.start(name, extra_env, instance=k)
    for name, k in copies(names):
        services.wait_healthy(name, instance=k)


def is_up() -> bool:
    """True when every instance of every service answers its health check."""
    return all(services.health(name, instance=k) is not None for name, k in copies())


def ensure_up() -> bool:
    """Start the stack unless it already runs (starting any missing instance); True if this call started it."""
    if is_up():
        return False
    infra_stack.up(instances=_INSTANCES[0])
    return True


def broker_for_load() -> None:
    """Run the broker with the JVM's full JIT (C2), restarting it if it runs C1 only (the test default).

    The services reconnect by themselves; this waits until each is healthy again. See infra/kafka/jvm.py.
    """
    os.environ["RV_KAFKA_JIT"] = "full"
    if kafka.running_jit() == "full":
        return
    print("==> restarting Kafka with the full JIT (it ran C1 only)", flush=True)
    kafka.stop()
    kafka.start()
    for name, k in copies():
        services.wait_healthy(name, instance=k)


@contextmanager
def services_stopped() -> Iterator[None]:
    """Our four services stopped for the duration (so the DBOS peer does not share the box with them)."""
    print("==> stopping RetroVault's services while the peer runs", flush=True)
    for name, k in copies():
        services.stop(name, instance=k)
    try:
        yield
    finally:
        print("==> starting RetroVault's services again", flush=True)
        _start_and_wait()


def emulator(*, persistent: bool) -> None:
    """Restart localstripe: ``persistent=False`` gives an empty store with no journal for the run.

    A store that grows with every test run and a journal written on every request made the emulator the
    busiest process of the first run, so it measured localstripe rather than either saga engine.
    """
    localstripe.stop()
    if persistent:
        os.environ.pop("RV_STRIPE_PERSIST", None)
    else:
        os.environ["RV_STRIPE_PERSIST"] = "0"
    localstripe.start()


def down() -> None:
    """Stop the whole stack (only called for a stack this benchmark started)."""
    infra_stack.down()


def pids() -> dict[str, int | None]:
    """The pid of each part of the stack (PostgreSQL's is the postmaster: count its whole tree)."""
    found: dict[str, int | None] = {services.daemon_name(n, k): services.pid(n, instance=k) for n, k in copies()}
    found[services.FRONT_DOOR] = services.pid(services.FRONT_DOOR)
    found["postgres"] = postgres.postmaster_pid()
    found["kafka"] = kafka.pid()
    found["localstripe"] = localstripe.pid()
    return found


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return json.load(response)


def products() -> list[dict[str, Any]]:
    """The catalogue as catalog's API shows it."""
    found: list[dict[str, Any]] = _http("GET", f"{service_url('catalog')}/products")
    return found


def choose_mix(catalogue: list[dict[str, Any]]) -> Mix:
    """Every product but one is ordered one at a time; the scarce one is ordered 100 at a time."""
    skus = [str(p["sku"]) for p in catalogue]
    if len(skus) < 2:
        raise RuntimeError("the catalogue needs at least two products")
    scarce = PREFERRED_SCARCE_SKU if PREFERRED_SCARCE_SKU in skus else skus[0]
    return Mix(stocked_skus=tuple(s for s in skus if s != scarce), scarce_sku=scarce)


def restock(mix: Mix) -> None:
    """Fill every stocked shelf (so paid orders never run out) and leave the scarce one nearly empty."""
    base = service_url("catalog")
    for sku in mix.stocked_skus:
        _set_available(f"{base}/products/{sku}", FULL_STOCK)
    _set_available(f"{base}/products/{mix.scarce_sku}", SCARCE_STOCK)


def _set_available(product_url: str, units: int, attempts: int = 10) -> None:
    """Count a product: ``units`` available, sent with the revision it was read at; read again when an order of a
    previous step changed it in between (412)."""
    for _ in range(attempts):
        revision = _http("GET", product_url)["revision"]
        try:
            _http("PUT", f"{product_url}/stock", {"stock": units}, {"If-Match": f'"{revision}"'})
            return
        except urllib.error.HTTPError as error:
            if error.code != 412:
                raise
    raise RuntimeError(f"{product_url} changed under each of {attempts} counts")


def restart_payment(gateway: str, latency_ms: int = 200) -> None:
    """Restart every payment instance with ``RV_PAYMENT_GATEWAY=<gateway>`` (``stripe``, ``instant`` or
    ``latency``, the latter answering each call after ``latency_ms``)."""
    for name, k in copies(("payment",)):
        services.stop(name, instance=k)
    env = {"RV_PAYMENT_GATEWAY": gateway, "RV_PAYMENT_GATEWAY_LATENCY_MS": str(latency_ms)}
    _start_and_wait(("payment",), env)


def plain_dsn(database: str) -> str:
    """A libpq DSN for the ``database`` role and database on the stack's PostgreSQL."""
    return postgres.dsn(database).replace("postgresql+psycopg://", "postgresql://", 1)


def database_counters(databases: tuple[str, ...]) -> dict[str, Any]:
    """Committed and rolled-back transactions per database, and the server's WAL and transaction-id totals.

    ``xact_commit`` counts read-only transactions too; transaction ids are assigned only to transactions
    that write, so the server-wide advance of the next xid counts write transactions (all databases).
    ``pg_stat_database`` lags behind backends by up to 10 s (PostgreSQL 15's idle flush interval).
    """
    with psycopg.connect(plain_dsn(postgres.BENCH), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname, xact_commit, xact_rollback FROM pg_stat_database WHERE datname = ANY(%s)",
            (list(databases),),
        ).fetchall()
        wal = conn.execute("SELECT wal_records, wal_bytes, wal_write, wal_sync FROM pg_stat_wal").fetchone()
        xid = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").fetchone()
    counters: dict[str, Any] = {
        "commits": {str(name): int(commits) for name, commits, _ in rows},
        "rollbacks": {str(name): int(rollbacks) for name, _, rollbacks in rows},
    }
    if xid is not None:
        counters["xids"] = {"server": int(xid[0])}
    if wal is not None:
        counters["wal"] = {"records": int(wal[0]), "bytes": int(wal[1]), "writes": int(wal[2]), "syncs": int(wal[3])}
    return counters


def counter_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``after - before`` for every counter in :func:`database_counters`' shape."""
    return {
        group: {key: after[group][key] - value for key, value in values.items() if key in after.get(group, {})}
        for group, values in before.items()
    }


def machine() -> dict[str, Any]:
    """nproc, CPU model and memory of this machine, and the PostgreSQL settings that bound commits."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def target(mix: Mix) -> Target:
    """RetroVault itself: orders in through the orders service, terminal sagas in the coordinator's table."""
    return Target(
        name="retrovault",
        orders_url=service_url("orders"),
        terminal_dsn=plain_dsn(service("coordinator").database),
        terminal_table="sagas",
        pids=pids,
        prepare=lambda: restock(mix),
        databases=SERVICE_DATABASES,
    )
