"""Settings every service reads from environment variables, typed and validated, with defaults that match the
local stack.

Each service has one settings class (``<service>/settings.py``) built on :class:`ServiceSettings`: the shared
fields here, its own port and database (:func:`port_field`, :func:`database_field`) and whatever else it needs.
``ServiceSettings.from_env(name)`` gives the shared settings of any service by name (tools that serve them all).
"""

from __future__ import annotations

import os
import re
import socket
from functools import cache
from typing import Any, ClassVar, Literal

from pydantic import Field, create_model, field_validator, model_validator

from contracts.topics import ALL_TOPICS, configured_partitions
from plumbing.kafka_settings import LOCAL_STACK, KafkaSettings
from plumbing.services import DEFAULT_PG_PORT
from plumbing.services import service as service_of


def env(name: str, default: str) -> str:
    """An environment variable or its default (the local stack's own tooling; services use settings classes)."""
    return os.environ.get(name, default)


_INSTANCE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def is_instance_id(text: str) -> bool:
    """Whether ``text`` has the shape of an instance id: 1-64 of ``[A-Za-z0-9_.-]``."""
    return _INSTANCE_ID.fullmatch(text) is not None


MIN_INBOX_RETENTION_S = 3600.0
"""The shortest inbox retention allowed: twice the default saga step budget (30 min) and far beyond a redelivery."""


class ServiceSettings(KafkaSettings):
    """What every service needs to know to run: who it is, where its database and Kafka are, how it consumes."""

    service: ClassVar[str] = ""
    http_host: str = Field("127.0.0.1", description="the address the HTTP API listens on (`0.0.0.0` in containers)")
    http_port: int = Field(0, description="the port the HTTP API listens on (per service)")
    pg_port: int = Field(
        DEFAULT_PG_PORT, ge=1, le=65535, description="the local PostgreSQL's port", json_schema_extra=LOCAL_STACK
    )
    database_url: str = Field("", description="the service's own database (per service)")
    batch_size: int = Field(500, ge=1, description="most messages the consumer applies in one transaction")
    poll_timeout_s: float = Field(0.05, gt=0, description="how long one consumer poll waits for a message")
    instance: str | None = Field(
        None,
        validation_alias="RV_INSTANCE_ID",
        description="this process's id among the service's instances (1-64 of `[A-Za-z0-9_.-]`); given, the "
        "consumer uses static group membership; unset: `<hostname>-<pid>`, dynamic membership",
    )
    rebalance_grace_s: float = Field(
        15.0, ge=0, description="how long a consumer may hold no partitions after a revoke before `/health` is 503"
    )
    max_message_bytes: int = Field(
        1_000_000, ge=1, description="larger messages are dead-lettered without being decoded"
    )
    max_attempts: int = Field(
        5,
        ge=1,
        description="attempts at a message that keeps colliding with other transactions, and at a payment driver "
        "step that keeps failing unexpectedly, before dead-letter",
    )
    retry_backoff_s: float = Field(0.1, ge=0, description="the wait after a first collision, doubled after each")
    inbox_retention_s: float = Field(
        6 * 3600.0,
        ge=MIN_INBOX_RETENTION_S,
        description="inbox rows (applied message ids, recorded replies) older than this are pruned; at least 1 h, to"
        " outlast every redelivery and the saga budgets (docs/reliability.md, inbox retention)",
    )
    inbox_prune_every_s: float = Field(
        300.0, gt=0, description="time between inbox prunes, and from start to the first"
    )
    log_format: Literal["json", "text"] = Field("json", description="JSON lines on stderr, or plain text lines")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field("INFO", description="log level")
    topic_partitions: int | None = Field(
        None,
        ge=1,
        description="partition count wanted for the keyed topics (`/health` warns when a topic has fewer); "
        "`RV_TOPIC_PARTITIONS_<TOPIC>` (name upper-cased, dots as underscores) sets one topic's",
    )
    otel_endpoint: str | None = Field(
        None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="OTLP/HTTP collector: spans are exported only when this or the traces endpoint is set "
        "(the OpenTelemetry SDK reads its other `OTEL_*` variables itself)",
    )
    otel_traces_endpoint: str | None = Field(
        None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", description="OTLP/HTTP endpoint for spans only"
    )

    @field_validator("instance")
    @classmethod
    def _instance_fits(cls, value: str | None) -> str | None:
        if value is not None and not is_instance_id(value):
            raise ValueError("must be 1-64 characters of [A-Za-z0-9_.-]")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _topic_partitions_fit(self) -> ServiceSettings:
        for topic in ALL_TOPICS:  # RV_TOPIC_PARTITIONS_<TOPIC>: names no field can list
            configured_partitions(topic)
        return self

    @property
    def instance_id(self) -> str:
        """``RV_INSTANCE_ID``, else ``<hostname>-<pid>`` (unique per process)."""
        if self.instance is not None:
            return self.instance
        host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:40] or "host"
        return f"{host}-{os.getpid()}"

    @property
    def static_instance(self) -> bool:
        """True when ``RV_INSTANCE_ID`` was given: the consumer then uses static membership (``group.instance.id``)."""
        return self.instance is not None

    @property
    def tracing(self) -> bool:
        """Whether spans are exported (an OTLP endpoint is set)."""
        return bool(self.otel_endpoint or self.otel_traces_endpoint)

    @classmethod
    def from_env(cls, service: str) -> ServiceSettings:
        """The shared settings of ``service`` (``RV_<SERVICE>_PORT``, ``RV_<SERVICE>_DATABASE_URL`` and the
        shared ``RV_*``), validated: ``ConfigurationError`` naming the variable when one does not fit."""
        return _generic(service).load()


def port_field(service: str) -> Any:
    """The field of a service's HTTP port: ``RV_<SERVICE>_PORT``, default its port on the local stack."""
    return Field(
        service_of(service).port,
        ge=1,
        le=65535,
        validation_alias=f"RV_{service.upper()}_PORT",
        description=f"the port {_owner(service)} HTTP API listens on",
    )


def database_field(service: str) -> Any:
    """The field of a service's database URL: ``RV_<SERVICE>_DATABASE_URL``, default its local database."""
    database = service_of(service).database
    return Field(
        default_factory=lambda data: (
            f"postgresql+psycopg://{database}:{database}@127.0.0.1:{data['pg_port']}/{database}"
        ),
        min_length=1,
        validation_alias=f"RV_{service.upper()}_DATABASE_URL",
        description=f"SQLAlchemy URL of {_owner(service)} own database (`postgresql+psycopg://user:password@host:port/db`)",
    )


def service_url_field(service: str) -> Any:
    """The field of another service's base URL, for a service that calls its HTTP API: ``RV_<SERVICE>_URL``,
    default its address on the local stack."""
    return Field(
        default_factory=lambda: service_url(service),
        pattern=r"^https?://\S+$",
        validation_alias=f"RV_{service.upper()}_URL",
        description=f"base URL of the {service} service's HTTP API; unset: the local stack's "
        f"`http://127.0.0.1:<RV_{service.upper()}_PORT>`",
    )


def _owner(service: str) -> str:
    return f"{service}'" if service.endswith("s") else f"{service}'s"


@cache
def _generic(service: str) -> type[ServiceSettings]:
    model = create_model(
        f"{service.title()}SharedSettings",
        __base__=ServiceSettings,
        http_port=(int, port_field(service)),
        database_url=(str, database_field(service)),
    )
    model.service = service
    return model


def service_url(name: str) -> str:
    """Base URL of a service's HTTP API on the local stack."""
    port = env(f"RV_{name.upper()}_PORT", str(service_of(name).port))
    return f"http://127.0.0.1:{port}"
