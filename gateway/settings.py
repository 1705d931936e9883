"""The gateway's settings: the shared ones, its port and database, its tokens, its upstreams and its limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from plumbing.settings import ServiceSettings, database_field, port_field, service_url

UPSTREAMS = ("catalog", "orders", "payment", "coordinator")
"""The services the gateway routes to."""


def _upstream_field(service: str) -> Any:
    return Field(
        default_factory=lambda: service_url(service),
        pattern=r"^https?://\S+$",
        validation_alias=f"RV_{service.upper()}_URL",
        description=f"base URL of the {service} service the gateway routes to; unset: the local stack's "
        f"`http://127.0.0.1:<RV_{service.upper()}_PORT>`",
    )


class GatewaySettings(ServiceSettings):
    """The gateway's settings object."""

    service: ClassVar[str] = "gateway"
    http_port: int = port_field("gateway")
    database_url: str = database_field("gateway")
    gateway_issuer: str = Field("retrovault-local", min_length=1, description="the `iss` every token must carry")
    gateway_audience: str = Field("retrovault-api", min_length=1, description="the `aud` every token must carry")
    gateway_jwks_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        description="an identity provider's key set (JWKS) to verify tokens with; unset: the local issuer's key",
    )
    gateway_signing_key_file: Path | None = Field(
        None,
        description="the local issuer's ES256 key (PEM; made on first start, mode 0600); unset: a key in memory "
        "that dies with the process (`infra.stack` sets `<RV_STATE_DIR>/gateway/signing-key.pem`)",
    )
    gateway_token_ttl_s: int = Field(900, ge=60, le=86400, description="how long a token from `POST /auth/token` lasts")
    gateway_clock_skew_s: float = Field(
        30.0, ge=0, le=300, description="how far `exp`/`nbf`/`iat` may be off between issuer and gateway"
    )
    gateway_demo_users: bool = Field(True, description="seed the demo logins (see the README) at start")
    gateway_connect_timeout_s: float = Field(2.0, gt=0, le=60, description="how long connecting to a service may take")
    gateway_upstream_timeout_s: float = Field(
        10.0, gt=0, le=300, description="how long a service may take for each read and write of a call"
    )
    gateway_orders_burst: int = Field(10, ge=1, description="orders a customer may place at once")
    gateway_orders_per_minute: float = Field(
        30.0, gt=0, description="how fast a customer's allowance of orders refills (operators are not limited)"
    )
    catalog_url: str = _upstream_field("catalog")
    orders_url: str = _upstream_field("orders")
    payment_url: str = _upstream_field("payment")
    coordinator_url: str = _upstream_field("coordinator")

    def upstream_urls(self) -> dict[str, str]:
        """Each routed service's base URL."""
        return {name: getattr(self, f"{name}_url") for name in UPSTREAMS}
