"""The coordinator's settings: the shared ones, its own port and database, and its sagas' patience."""

from __future__ import annotations

from typing import ClassVar

from coordinator.sagas.patience import SagaPatience
from plumbing.settings import ServiceSettings, database_field, port_field, service_url_field


class CoordinatorSettings(ServiceSettings, SagaPatience):
    """The coordinator's settings object."""

    service: ClassVar[str] = "coordinator"
    http_port: int = port_field("coordinator")
    database_url: str = database_field("coordinator")
    catalog_url: str = service_url_field("catalog")
    """The catalog the dashboard's stock page calls."""
