"""Orders' settings: the shared ones (``plumbing.settings.ServiceSettings``) with its own port and database."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from plumbing.settings import ServiceSettings, database_field, port_field


class OrdersSettings(ServiceSettings):
    """Orders' settings object."""

    service: ClassVar[str] = "orders"
    http_port: int = port_field("orders")
    database_url: str = database_field("orders")
    orders_group_commit_ms: float = Field(
        0.0,
        ge=0,
        le=1000,
        description="how long the first of simultaneous `POST /orders` waits for others to share its transaction "
        "(group commit); 0: no wait, only requests that arrive while the previous group commits share one",
    )
