"""Fakes of the gateway's ports, and a gateway app built on them with a real local issuer."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from anyio import CapacityLimiter
from litestar import Litestar
from litestar.testing import TestClient

from gateway.adapters.signing_key import SigningKey, signing_key
from gateway.adapters.tokens import JwtVerifier, LocalIssuer, local_keys
from gateway.domain.principals import Role
from gateway.domain.rate_limit import Allowance, LoginBuckets, TokenBuckets
from gateway.domain.users import User
from gateway.entrypoints.context import Gateway
from gateway.entrypoints.http import create_app
from gateway.ports import Passwords, UpstreamFailed, UpstreamRequest, UpstreamResponse

ISSUER, AUDIENCE, TTL_S, SKEW_S = "test-issuer", "test-api", 900, 30
KEY = signing_key(None)
"""One key for every test (made once: a key per test would only cost time)."""


class FakeUsers:
    """Users in a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, User] = {}

    def find(self, username: str) -> User | None:
        return self.rows.get(username)

    def add_if_missing(self, user: User) -> bool:
        if user.username in self.rows:
            return False
        self.rows[user.username] = user
        return True

    def remove(self, username: str) -> bool:
        return self.rows.pop(username, None) is not None


class PlainPasswords:
    """A stand-in for argon2 (tests of the rules need no slow hash): the hash is the password, marked."""

    def hash(self, password: str) -> str:
        return f"plain${password}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == f"plain${password}"


@dataclass
class Sent:
    """A request as the fake upstream received it."""

    service: str
    method: str
    path: str
    query: bytes
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeUpstreams:
    """Answers every call with 200 and what it received; orders' ``GET /orders/{id}`` with ``orders[id]``;
    ``failing`` makes every call fail with that status."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    failing: int | None = None
    sent: list[Sent] = field(default_factory=list)
    closed: int = 0

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        body = request.body if isinstance(request.body, bytes) else b"".join([c async for c in request.body])
        self.sent.append(
            Sent(request.service, request.method, request.path, request.query, dict(request.headers), body)
        )
        if self.failing is not None:
            raise UpstreamFailed(request.service, self.failing, f"{request.service} failed ({self.failing})")
        answer: Any = {"service": request.service, "path": request.path}
        status = 200
        if request.service == "orders" and request.method == "GET":
            order = self.orders.get(request.path.rsplit("/", 1)[-1])
            status, answer = (200, order) if order else (404, {"title": "no order", "status": 404})
        media_type = "application/json" if status == 200 else "application/problem+json"
        return UpstreamResponse(status, [("content-type", media_type)], _chunks(answer), self._close)

    async def _close(self) -> None:
        self.closed += 1


async def _chunks(answer: Any) -> AsyncIterator[bytes]:
    encoded = json.dumps(answer).encode()
    yield encoded[:5]
    yield encoded[5:]


@dataclass
class Clock:
    """Time the tests move: the issuer's (PyJWT checks tokens against the real time) and the rate limiter's."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


def login_limits(burst: int = 100, per_minute: float = 60.0) -> dict[str, Any]:
    """The ``Gateway`` fields for logins: ``burst`` attempts per address and per username, and 4 hashes at once."""
    buckets = LoginBuckets(TokenBuckets(Allowance(burst, per_minute)), TokenBuckets(Allowance(burst, per_minute)))
    return {"login_buckets": buckets, "password_checks": CapacityLimiter(4)}


def issuer(clock: Clock, key: SigningKey = KEY, audience: str = AUDIENCE, issuer_name: str = ISSUER) -> LocalIssuer:
    return LocalIssuer(key, issuer_name, audience, TTL_S, clock)


@dataclass
class Door:
    """A gateway on fakes: its client, upstreams, users, clock, and tokens for each demo role."""

    client: TestClient[Litestar]
    upstreams: FakeUpstreams
    users: FakeUsers
    clock: Clock

    def token(self, subject: str, role: Role = Role.CUSTOMER) -> str:
        return issuer(self.clock).issue(subject, role).access_token

    def as_(self, subject: str | None, role: Role = Role.CUSTOMER) -> dict[str, str]:
        return {} if subject is None else {"Authorization": f"Bearer {self.token(subject, role)}"}


def gateway_on_fakes(
    clock: Clock, burst: int = 100, per_minute: float = 60.0, logins: int = 100, passwords: Passwords | None = None
) -> Gateway:
    """A gateway on fakes, with the users ``ada`` and ``bob`` (customers) and ``olga`` (operator); ``burst`` orders
    and ``logins`` login attempts (per address and per username) at once, each refilled ``per_minute``."""
    users = FakeUsers()
    for name, role in (("ada", Role.CUSTOMER), ("bob", Role.CUSTOMER), ("olga", Role.OPERATOR)):
        users.add_if_missing(User(name, f"plain${name}-password", role))
    return Gateway(
        users=users,
        passwords=passwords or PlainPasswords(),
        issuer=issuer(clock),
        verifier=JwtVerifier(local_keys(KEY), ISSUER, AUDIENCE, SKEW_S, blocking=False),
        jwks={"keys": [KEY.public_jwk]},
        upstreams=FakeUpstreams(),
        order_buckets=TokenBuckets(Allowance(burst, per_minute)),
        monotonic=clock,
        **login_limits(logins, per_minute),
    )


@contextmanager
def front_door(burst: int = 100, per_minute: float = 60.0, logins: int = 100) -> Iterator[Door]:
    """``gateway_on_fakes`` behind a test client."""
    clock = Clock()
    gateway = gateway_on_fakes(clock, burst, per_minute, logins)
    assert isinstance(gateway.upstreams, FakeUpstreams) and isinstance(gateway.users, FakeUsers)
    with TestClient(create_app(gateway, None)) as client:
        yield Door(client, gateway.upstreams, gateway.users, clock)
