"""What the gateway's route handlers share, built once by the composition root."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar.di import NamedDependency

from gateway.adapters.tokens import JwtVerifier
from gateway.domain.rate_limit import TokenBuckets
from gateway.ports import Passwords, TokenIssuer, Upstreams, Users


@dataclass(frozen=True)
class Browser:
    """The storefront's cookies: ``cart_key`` signs the cart; ``secure`` marks cookies HTTPS-only."""

    cart_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    secure: bool = False


@dataclass
class Gateway:
    """The users, hashing, tokens and upstreams; ``issuer`` and ``jwks`` are None when an identity provider
    issues the tokens; ``monotonic`` is the rate limiter's clock; ``browser`` the storefront's cookie settings."""

    users: Users
    passwords: Passwords
    issuer: TokenIssuer | None
    verifier: JwtVerifier
    jwks: dict[str, Any] | None
    upstreams: Upstreams
    order_buckets: TokenBuckets
    monotonic: Callable[[], float]
    browser: Browser = field(default_factory=Browser)


GatewayDependency = NamedDependency[Gateway]
"""A route handler parameter named ``gateway``."""
