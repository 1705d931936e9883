"""The gateway's settings: the shared ones, its port and database, its tokens, its upstreams and its limits."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

from plumbing.settings import ServiceSettings, database_field, port_field, service_url_field

UPSTREAMS = ("catalog", "orders", "payment", "coordinator")
"""The services the gateway routes to."""


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
    gateway_demo_users: bool = Field(
        False,
        description="seed the demo logins (see the README; their passwords are public) at start and show them on the "
        "login page; false: remove them if they exist (the local stack, Compose and the local Kubernetes overlay "
        "set it true)",
    )
    gateway_connect_timeout_s: float = Field(2.0, gt=0, le=60, description="how long connecting to a service may take")
    gateway_upstream_timeout_s: float = Field(
        10.0, gt=0, le=300, description="how long a service may take for each read and write of a call"
    )
    gateway_orders_burst: int = Field(10, ge=1, description="orders a customer may place at once")
    gateway_orders_per_minute: float = Field(
        30.0, gt=0, description="how fast a customer's allowance of orders refills (operators are not limited)"
    )
    gateway_login_address_burst: int = Field(20, ge=1, description="logins one client address may try at once")
    gateway_login_address_per_minute: float = Field(
        20.0, gt=0, description="how fast a client address's allowance of login attempts refills"
    )
    gateway_login_user_burst: int = Field(10, ge=1, description="logins one username may be tried with at once")
    gateway_login_user_per_minute: float = Field(
        5.0, gt=0, description="how fast a username's allowance of login attempts refills"
    )
    gateway_password_checks: int = Field(
        4, ge=1, le=64, description="password hashes (argon2id, 64 MiB each) computed at once; more logins wait"
    )
    gateway_secure_cookies: bool = Field(
        False, description="mark the storefront's cookies `Secure` (set it when browsers reach the gateway by HTTPS)"
    )
    gateway_cart_secret: SecretStr | None = Field(
        None,
        min_length=32,
        description="the key that signs storefront carts (at least 32 characters; the same on every instance); "
        "unset: derived from the local signing key, or a key per process with an identity provider",
    )
    catalog_url: str = service_url_field("catalog")
    orders_url: str = service_url_field("orders")
    payment_url: str = service_url_field("payment")
    coordinator_url: str = service_url_field("coordinator")

    def upstream_urls(self) -> dict[str, str]:
        """Each routed service's base URL."""
        return {name: getattr(self, f"{name}_url") for name in UPSTREAMS}
