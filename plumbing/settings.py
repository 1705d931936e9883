"""Settings read from environment variables, with defaults that match the local stack."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass

from plumbing.services import DEFAULT_KAFKA_PORT, DEFAULT_PG_PORT
from plumbing.services import service as service_of


def env(name: str, default: str) -> str:
    """An environment variable or its default."""
    return os.environ.get(name, default)


@dataclass(frozen=True)
class ServiceSettings:
    """What every service needs to know to run: who it is, where its database and Kafka are."""

    service: str
    http_host: str
    http_port: int
    database_url: str
    kafka_bootstrap: str
    batch_size: int
    poll_timeout_s: float
    instance_id: str = ""
    """Who this process is among the service's instances: ``RV_INSTANCE_ID``, else ``<hostname>-<pid>``."""
    static_instance: bool = False
    """True when ``RV_INSTANCE_ID`` was given: the consumer then uses static membership (``group.instance.id``)."""
    rebalance_grace_s: float = 15.0
    """How long a consumer may hold no partitions after a revoke before ``/health`` says 503."""

    @classmethod
    def from_env(cls, service: str) -> ServiceSettings:
        """Read ``RV_<SERVICE>_*`` and shared ``RV_*`` variables."""
        prefix = f"RV_{service.upper()}_"
        pg_port = env("RV_PG_PORT", str(DEFAULT_PG_PORT))
        database = service_of(service).database
        default_db = f"postgresql+psycopg://{database}:{database}@127.0.0.1:{pg_port}/{database}"
        return cls(
            service=service,
            http_host=env("RV_HTTP_HOST", "127.0.0.1"),
            http_port=int(env(prefix + "PORT", str(service_of(service).port))),
            database_url=env(prefix + "DATABASE_URL", default_db),
            kafka_bootstrap=env("RV_KAFKA_BOOTSTRAP", f"127.0.0.1:{env('RV_KAFKA_PORT', str(DEFAULT_KAFKA_PORT))}"),
            batch_size=int(env("RV_BATCH_SIZE", "500")),
            poll_timeout_s=float(env("RV_POLL_TIMEOUT_S", "0.05")),
            instance_id=instance_id(),
            static_instance="RV_INSTANCE_ID" in os.environ,
            rebalance_grace_s=float(env("RV_REBALANCE_GRACE_S", "15")),
        )


_INSTANCE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def instance_id() -> str:
    """``RV_INSTANCE_ID`` (validated: 1-64 of ``[A-Za-z0-9_.-]``), else ``<hostname>-<pid>`` (unique per process).

    ``ValueError`` for an explicit id that does not fit: it ends up in ``client.id`` and ``group.instance.id``.
    """
    explicit = os.environ.get("RV_INSTANCE_ID")
    if explicit is not None:
        if not _INSTANCE_ID.fullmatch(explicit):
            raise ValueError(f"RV_INSTANCE_ID must be 1-64 characters of [A-Za-z0-9_.-], not {explicit!r}")
        return explicit
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}"


def service_url(name: str) -> str:
    """Base URL of a service's HTTP API on the local stack."""
    port = env(f"RV_{name.upper()}_PORT", str(service_of(name).port))
    return f"http://127.0.0.1:{port}"
