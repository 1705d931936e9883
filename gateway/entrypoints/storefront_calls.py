"""The storefront's calls to the services, through the gateway's upstreams (never their databases)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from gateway.domain.catalogue import Game
from gateway.domain.principals import Principal
from gateway.entrypoints.context import Gateway
from gateway.ports import UpstreamFailed, UpstreamRequest
from plumbing.tracing import calling, inject

SERVICE_NAMES = {"catalog": "catalogue", "orders": "orders"}
"""How a page names a service that is down."""


class Unavailable(Exception):
    """A service did not answer, or answered with a server error; ``service`` is the one for people."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = SERVICE_NAMES.get(service, service)


async def call(
    gateway: Gateway,
    service: str,
    method: str,
    path: str,
    caller: Principal | None,
    query: dict[str, Any] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """The service's status and JSON answer; ``Unavailable`` when it did not answer or failed (5xx)."""
    sent = {"X-Request-Id": uuid.uuid4().hex, **(headers or {})}
    if caller is not None:
        sent |= {
            "X-Authenticated-Subject": caller.subject,
            "X-Authenticated-Role": caller.role.value if caller.role else "",
        }
    if body is not None:
        sent["Content-Type"] = "application/json"
    content = json.dumps(body).encode() if body is not None else b""
    try:
        with calling(f"{method} {service}", {"http.request.method": method}):
            request = UpstreamRequest(service, method, path, urlencode(query or {}).encode(), inject(sent), content)
            answer = await gateway.upstreams.send(request)
            try:
                raw = await answer.read()
            finally:
                await answer.close()
    except UpstreamFailed as error:
        raise Unavailable(service) from error
    if answer.status >= 500:
        raise Unavailable(service)
    try:
        return answer.status, json.loads(raw) if raw else None
    except ValueError as error:
        raise Unavailable(service) from error


async def games(gateway: Gateway, caller: Principal | None) -> list[Game]:
    """Every game in the catalogue."""
    status, answer = await call(gateway, "catalog", "GET", "/products", caller)
    if status != 200 or not isinstance(answer, list):
        raise Unavailable("catalog")
    return [Game.of(product) for product in answer]


async def game(gateway: Gateway, caller: Principal | None, sku: str) -> Game | None:
    """One game, or None when the catalogue has no such sku."""
    status, answer = await call(gateway, "catalog", "GET", f"/products/{sku}", caller)
    if status == 200 and isinstance(answer, dict):
        return Game.of(answer)
    if status in (400, 404, 422):
        return None
    raise Unavailable("catalog")
