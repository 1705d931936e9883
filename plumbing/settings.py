"""Settings read from environment variables, with defaults that match the local stack."""

from __future__ import annotations

import os
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
        )


def service_url(name: str) -> str:
    """Base URL of a service's HTTP API on the local stack."""
    port = env(f"RV_{name.upper()}_PORT", str(service_of(name).port))
    return f"http://127.0.0.1:{port}"
