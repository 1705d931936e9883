"""What the gateway's route handlers share, built once by the composition root."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import CapacityLimiter
from litestar.di import NamedDependency

from gateway.adapters.tokens import JwtVerifier
from gateway.domain.rate_limit import LoginBuckets, TokenBuckets
from gateway.ports import Passwords, TokenIssuer, Upstreams, Users


@dataclass(frozen=True)
class Browser:
    """The storefront's cookies: ``cart_key`` signs the cart; ``secure`` marks cookies HTTPS-only;
    ``demo_logins`` shows the demo logins on the login page (only while they exist)."""

    cart_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    secure: bool = False
    demo_logins: bool = False


@dataclass
class Gateway:
    """The users, hashing, tokens and upstreams; ``issuer`` and ``jwks`` are None when an identity provider
    issues the tokens; ``monotonic`` is the rate limiters' clock; ``password_checks`` bounds the password hashes
    running at once (argon2 takes 64 MiB each); ``browser`` the storefront's settings."""

    users: Users
    passwords: Passwords
    issuer: TokenIssuer | None
    verifier: JwtVerifier
    jwks: dict[str, Any] | None
    upstreams: Upstreams
    order_buckets: TokenBuckets
    login_buckets: LoginBuckets
    password_checks: CapacityLimiter
    monotonic: Callable[[], float]
    browser: Browser = field(default_factory=Browser)


GatewayDependency = NamedDependency[Gateway]
"""A route handler parameter named ``gateway``."""
