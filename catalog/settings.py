"""Catalog's settings: the shared ones (``plumbing.settings.ServiceSettings``) with its own port and database."""

from __future__ import annotations

from typing import ClassVar

from plumbing.settings import ServiceSettings, database_field, port_field


class CatalogSettings(ServiceSettings):
    """Catalog's settings object."""

    service: ClassVar[str] = "catalog"
    http_port: int = port_field("catalog")
    database_url: str = database_field("catalog")
