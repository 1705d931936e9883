"""A storefront on fakes: a gateway whose upstreams hold a small catalogue and take orders."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from litestar import Litestar
from litestar.testing import TestClient

from gateway.adapters.tokens import JwtVerifier, local_keys
from gateway.domain.principals import Role
from gateway.domain.rate_limit import Allowance, TokenBuckets
from gateway.domain.users import User
from gateway.entrypoints.context import Browser, Gateway
from gateway.entrypoints.http import create_app
from gateway.ports import UpstreamFailed, UpstreamRequest, UpstreamResponse
from tests.unit.gateway.fakes import (
    AUDIENCE,
    ISSUER,
    KEY,
    SKEW_S,
    Clock,
    FakeUsers,
    PlainPasswords,
    issuer,
    login_limits,
)

ORIGIN = "http://testserver.local"
"""The test client's own origin (its requests' ``Host`` is ``testserver.local``)."""


def product(sku: str, title: str, platform: str, price_cents: int, available: int) -> dict[str, Any]:
    return {"sku": sku, "title": title, "platform": platform, "release_year": 1991, "price_cents": price_cents} | {
        "stock": available,
        "available": available,
        "on_hand": available,
        "reserved": 0,
        "revision": 1,
    }


@dataclass
class ShopUpstreams:
    """Catalog's ``/products`` from ``products``; orders' ``POST /orders`` (one order per Idempotency-Key),
    ``GET /orders/{id}`` and ``GET /orders?customer_id=``; ``down`` names services that do not answer."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    sent: list[tuple[str, str, str, bytes, dict[str, str], bytes]] = field(default_factory=list)

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        body = request.body if isinstance(request.body, bytes) else b"".join([c async for c in request.body])
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.sent.append((request.service, request.method, request.path, request.query, headers, body))
        if request.service in self.down:
            raise UpstreamFailed(request.service, 503, f"{request.service} is not reachable")
        status, answer = self._answer(request, headers, body)
        return UpstreamResponse(status, [("content-type", "application/json")], _chunks(answer), _nothing)

    def _answer(self, request: UpstreamRequest, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        path, method = request.path, request.method
        if path == "/products":
            return 200, list(self.products.values())
        if match := re.fullmatch(r"/products/(.+)", path):
            found = self.products.get(match[1])
            return (200, found) if found else (404, {"status": 404, "detail": "no product"})
        if path == "/orders" and method == "POST":
            return self._place(json.loads(body), headers.get("idempotency-key"))
        if path == "/orders":
            customer = parse_qs(request.query.decode())["customer_id"][0]
            mine = [o for o in self.orders.values() if o["customer_id"] == customer]
            return 200, mine[::-1]
        if match := re.fullmatch(r"/orders/(.+)", path):
            found = self.orders.get(match[1])
            return (200, found) if found else (404, {"status": 404, "detail": "no order"})
        return 404, {"status": 404}

    def _place(self, order: dict[str, Any], key: str | None) -> tuple[int, Any]:
        if key in self.keys:
            return 202, {"order_id": self.keys[key], "status": "PENDING"}
        order_id = f"o-{len(self.orders) + 1}"
        items = [i | {"unit_price_cents": self.products[i["sku"]]["price_cents"]} for i in order["items"]]
        self.orders[order_id] = order | {
            "order_id": order_id,
            "status": "PENDING",
            "reason": None,
            "items": items,
            "total_cents": sum(i["unit_price_cents"] * i["quantity"] for i in items),
            "currency": "usd",
            "created_at": "2026-12-03T17:00:00+00:00",
            "updated_at": "2026-12-03T17:00:00+00:00",
        }
        if key is not None:
            self.keys[key] = order_id
        return 202, {"order_id": order_id, "status": "PENDING"}


async def _chunks(answer: Any) -> AsyncIterator[bytes]:
    yield json.dumps(answer).encode()


async def _nothing() -> None:
    return None


@dataclass
class Shop:
    """The storefront's test client, its upstreams and its clock."""

    client: TestClient[Litestar]
    upstreams: ShopUpstreams
    clock: Clock

    def log_in(self, username: str = "ada") -> None:
        form = {"username": username, "password": f"{username}-password"}
        answer = self.post("/login", form)
        assert answer.status_code == 303, answer.text

    def post(self, path: str, data: dict[str, Any], origin: str | None = ORIGIN) -> Any:
        headers = {"Origin": origin} if origin else {}
        return self.client.post(path, data=data, headers=headers, follow_redirects=False)


GAMES = [
    product("SNES-SMW", "Super Mario World", "SNES", 4999, 12),
    product("SNES-CHRONO", "Chrono Trigger", "SNES", 8999, 3),
    product("MD-SONIC2", "Sonic the Hedgehog 2", "Mega Drive", 2999, 0),
    product("NES-ZELDA", "The Legend of <Zelda>", "NES", 5999, 5),
]


@contextmanager
def shop(burst: int = 100, logins: int = 100, demo_logins: bool = False) -> Iterator[Shop]:
    """A storefront with ``GAMES``, the customers ``ada`` and ``bob`` and the operator ``olga``; ``burst`` orders
    and ``logins`` login attempts at once, refilled one a minute."""
    clock, users, upstreams = Clock(), FakeUsers(), ShopUpstreams({p["sku"]: p for p in GAMES})
    for name, role in (("ada", Role.CUSTOMER), ("bob", Role.CUSTOMER), ("olga", Role.OPERATOR)):
        users.add_if_missing(User(name, f"plain${name}-password", role))
    gateway = Gateway(
        users=users,
        passwords=PlainPasswords(),
        issuer=issuer(clock),
        verifier=JwtVerifier(local_keys(KEY), ISSUER, AUDIENCE, SKEW_S, blocking=False),
        jwks={"keys": [KEY.public_jwk]},
        upstreams=upstreams,
        order_buckets=TokenBuckets(Allowance(burst, 1.0)),
        monotonic=clock,
        browser=Browser(demo_logins=demo_logins),
        **login_limits(logins, 1.0),
    )
    with TestClient(create_app(gateway, None), base_url=ORIGIN) as client:
        yield Shop(client, upstreams, clock)
