"""What the gateway's route handlers share, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.di import NamedDependency

from gateway.adapters.tokens import JwtVerifier
from gateway.domain.rate_limit import TokenBuckets
from gateway.ports import Passwords, TokenIssuer, Upstreams, Users


@dataclass
class Gateway:
    """The users, hashing, tokens and upstreams; ``issuer`` and ``jwks`` are None when an identity provider
    issues the tokens; ``monotonic`` is the rate limiter's clock."""

    users: Users
    passwords: Passwords
    issuer: TokenIssuer | None
    verifier: JwtVerifier
    jwks: dict[str, Any] | None
    upstreams: Upstreams
    order_buckets: TokenBuckets
    monotonic: Callable[[], float]


GatewayDependency = NamedDependency[Gateway]
"""A route handler parameter named ``gateway``."""
