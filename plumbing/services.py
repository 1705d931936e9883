"""The services this system is made of, each declared once: its name, HTTP port and database.

``SERVICES`` are the ones that exchange messages over Kafka; ``GATEWAY`` is the front door in front of them.

Read by the settings, the local stack, the benchmark and the contract tooling; nothing else lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """One deployable service: its HTTP port on the local stack and the database it owns."""

    name: str
    port: int
    database: str


SERVICES: tuple[Service, ...] = (
    Service("catalog", 8101, "catalog"),
    Service("orders", 8102, "orders"),
    Service("payment", 8103, "payment"),
    Service("coordinator", 8104, "coordinator"),
)
"""In start order: the coordinator last, once every participant it commands is up."""

SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)

GATEWAY = Service("gateway", 8100, "gateway")
"""The one public entry point: it routes the public API to the services above and consumes no messages."""
ALL_SERVICES: tuple[Service, ...] = (*SERVICES, GATEWAY)
"""Every service with a database and a port, the gateway last (it starts once the services it routes to run)."""

DEFAULT_PG_PORT = 55432
DEFAULT_KAFKA_PORT = 19092


def service(name: str) -> Service:
    """The service called ``name``; ``KeyError`` for any other name."""
    for candidate in ALL_SERVICES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
