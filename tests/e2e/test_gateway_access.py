"""Every public operation of the gateway against every kind of caller, and every kind of bad token.

The operations are those of the gateway's committed OpenAPI document (``docs/openapi/gateway.json``, composed from
the access rules and the services' documents, and checked current by ``make lint``): an operation without an
entry in ``CASES`` fails, as does an entry for an operation no longer routed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.adapters.signing_key import signing_key
from gateway.adapters.tokens import LocalIssuer
from gateway.domain.principals import Role
from gateway.settings import GatewaySettings
from infra.tokens import key_file
from plumbing.demo_logins import DEMO_LOGINS, demo_login
from tests.restocking import stock_put_back
from tests.support import api, wait_for

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "gateway.json"
CALLERS = ("anonymous", "customer", "other customer", "operator")
_CUSTOMERS = [login for login in DEMO_LOGINS if login.role == "customer"]
LOGINS = {"customer": _CUSTOMERS[0], "other customer": _CUSTOMERS[1], "operator": demo_login("operator")}
SKU = "SNES-SMW"
COUNTED = "ARC-PACMAN"
"""Counted and adjusted here; no order here reserves it, so its revision holds between a read and a count."""
MISSING = str(uuid.UUID(int=0))


@dataclass(frozen=True)
class World:
    """What the calls refer to: a settled order of the customer's, its saga."""

    order_id: str
    saga_id: str


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Case:
    """How to call an operation (given the caller), and the status each caller in ``CALLERS`` gets."""

    call: Callable[[World, str], Call]
    expected: tuple[int, int, int, int]


def _order_body(caller: str) -> dict[str, Any]:
    body: dict[str, Any] = {"items": [{"sku": SKU, "quantity": 1}], "payment_method": "pm_card_visa"}
    return {**body, "customer_id": LOGINS["other customer"].username} if caller == "operator" else body


def _orders_of(caller: str) -> str:
    """A customer's own orders (the gateway fills in ``customer_id``); an operator names the customer."""
    return f"/api/orders?customer_id={LOGINS['customer'].username}" if caller == "operator" else "/api/orders"


def _current_stock(_: World, __: str) -> Call:
    product = api("gateway").get(f"/api/products/{COUNTED}")
    headers = {"If-Match": product.headers["etag"]}
    return Call("PUT", f"/api/products/{COUNTED}/stock", {"stock": product.json()["stock"]}, headers)


ANYONE = (200, 200, 200, 200)
OPERATORS = (401, 403, 403, 200)
OPERATORS_ON_A_MISSING_ONE = (401, 403, 403, 404)
"""A change only operators may make, asked of something that does not exist: the service's own 404."""
CASES: dict[str, Case] = {
    "GET /api/products": Case(lambda w, c: Call("GET", "/api/products"), ANYONE),
    "GET /api/products/{sku}": Case(lambda w, c: Call("GET", f"/api/products/{SKU}"), ANYONE),
    "PUT /api/products/{sku}/stock": Case(_current_stock, OPERATORS),
    "POST /api/products/{sku}/stock-adjustments": Case(
        lambda w, c: Call("POST", f"/api/products/{COUNTED}/stock-adjustments", {"delta": 1, "reason": "access e2e"}),
        (401, 403, 403, 201),
    ),
    "GET /api/stock-adjustments": Case(lambda w, c: Call("GET", "/api/stock-adjustments"), OPERATORS),
    "POST /api/orders": Case(lambda w, c: Call("POST", "/api/orders", _order_body(c)), (401, 202, 202, 202)),
    "GET /api/orders": Case(lambda w, c: Call("GET", _orders_of(c)), (401, 200, 200, 200)),
    "GET /api/orders/{order_id}": Case(lambda w, c: Call("GET", f"/api/orders/{w.order_id}"), (401, 200, 404, 200)),
    "GET /api/payments/{order_id}": Case(lambda w, c: Call("GET", f"/api/payments/{w.order_id}"), OPERATORS),
    "GET /api/sagas": Case(lambda w, c: Call("GET", "/api/sagas"), OPERATORS),
    "GET /api/sagas/summary": Case(lambda w, c: Call("GET", "/api/sagas/summary"), OPERATORS),
    "GET /api/sagas/{saga_id}": Case(lambda w, c: Call("GET", f"/api/sagas/{w.saga_id}"), OPERATORS),
    "POST /api/sagas/{saga_id}/replay": Case(
        lambda w, c: Call("POST", f"/api/sagas/{MISSING}/replay"), OPERATORS_ON_A_MISSING_ONE
    ),
    "GET /api/dead-letters": Case(lambda w, c: Call("GET", "/api/dead-letters"), OPERATORS),
    "POST /api/dead-letters/{ident}/replay": Case(
        lambda w, c: Call("POST", "/api/dead-letters/no-such-letter/replay"), OPERATORS_ON_A_MISSING_ONE
    ),
    "POST /api/dead-letters/{ident}/discard": Case(
        lambda w, c: Call("POST", "/api/dead-letters/no-such-letter/discard"), OPERATORS_ON_A_MISSING_ONE
    ),
}


def routed_operations() -> set[str]:
    """``METHOD /api/...`` for every operation the gateway's document lists under ``/api``."""
    paths = json.loads(DOCUMENT.read_text())["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() if path.startswith("/api/") for method in item}


@cache
def token(caller: str) -> str:
    """A demo login's token, as ``POST /auth/token`` gives it."""
    login = LOGINS[caller]
    answer = api("gateway").post("/auth/token", data={"username": login.username, "password": login.password})
    assert answer.status_code == 200, answer.text
    access_token: str = answer.json()["access_token"]
    return access_token


def as_(caller: str) -> dict[str, str]:
    return {} if caller == "anonymous" else {"Authorization": f"Bearer {token(caller)}"}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A customer's order, paid and settled, and its saga; stock levels are put back afterwards."""
    with stock_put_back():
        body = _order_body("customer")
        placed = api("gateway").post("/api/orders", json=body, headers=as_("customer"))
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]

        def settled_saga() -> dict[str, Any] | None:
            sagas = api("gateway").get("/api/sagas", params={"order_id": order_id}, headers=as_("operator"))
            found = sagas.json()["items"]
            return found[0] if found and found[0]["state"] == "COMPLETED" else None

        saga = wait_for(settled_saga, timeout_s=30, what=f"the saga of order {order_id} to complete")
        yield World(order_id, saga["saga_id"])


def test_every_routed_operation_has_an_entry() -> None:
    assert set(CASES) == routed_operations()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", sorted(CASES))
def test_each_caller_gets_what_the_access_rules_say(operation: str, caller: str, world: World) -> None:
    case = CASES[operation]
    call = case.call(world, caller)
    answer = api("gateway").request(
        call.method, call.path, json=call.json, headers={**(call.headers or {}), **as_(caller)}
    )
    expected = case.expected[CALLERS.index(caller)]
    assert answer.status_code == expected, f"{operation} as {caller}: {answer.status_code} {answer.text}"
    if expected >= 400:
        assert answer.headers["content-type"] == "application/problem+json"
    if expected == 401:
        assert answer.headers["www-authenticate"] == "Bearer"
    if expected == 404:  # the service's answer (or, for an order, exactly its look), not the gateway's "no route"
        assert answer.json()["detail"] != "no such resource"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _claims(valid: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(valid, options={"verify_signature": False})
    return claims


def _signed_as_the_gateway(*, issuer: str | None = None, audience: str | None = None, age_s: float = 0) -> str:
    settings = GatewaySettings.load()
    key = signing_key(key_file())
    issuer_ = LocalIssuer(
        key,
        issuer or settings.gateway_issuer,
        audience or settings.gateway_audience,
        60,
        lambda: time.time() - age_s,
    )
    return issuer_.issue("demo-operator", Role.OPERATOR).access_token


def _tampered_payload() -> str:
    header, _, signature = token("customer").split(".")
    claims = {**_claims(token("customer")), "role": "operator"}
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _tampered_signature() -> str:
    valid = token("operator")
    head, signature = valid.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0xFF
    return f"{head}.{_b64(bytes(raw))}"


def _alg_none() -> str:
    kid = jwt.get_unverified_header(token("operator"))["kid"]
    return _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, _claims(token("operator"))) + "."


def _hs256_with_the_public_key() -> str:
    """The classic confusion attack: HMAC "signed" with the issuer's public key, which anyone can fetch."""
    key = signing_key(key_file())
    secret = key.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": key.kid}, _claims(token("operator")))
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "expired": lambda: _signed_as_the_gateway(age_s=3600),
    "tampered payload": _tampered_payload,
    "tampered signature": _tampered_signature,
    "wrong audience": lambda: _signed_as_the_gateway(audience="someone-else"),
    "wrong issuer": lambda: _signed_as_the_gateway(issuer="https://issuer.invalid"),
    "alg none": _alg_none,
    "HS256 with the public key": _hs256_with_the_public_key,
    "not a JWT": lambda: "not-a-token",
}


@pytest.mark.parametrize("path", ["/api/products", "/api/sagas"])
@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_a_bad_token_is_401_invalid_token_where_a_token_is_optional_or_needed(kind: str, path: str) -> None:
    answer = api("gateway").get(path, headers={"Authorization": f"Bearer {BAD_TOKENS[kind]()}"})
    assert (answer.status_code, answer.headers["content-type"]) == (401, "application/problem+json")
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_the_gateway_serves_its_committed_document() -> None:
    served = api("gateway").get("/schema/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(DOCUMENT.read_text())


def test_a_token_forged_like_the_bad_ones_but_correct_is_accepted() -> None:
    """The expired, wrong-audience and wrong-issuer tokens differ from this one in that one claim each."""
    forged = {"Authorization": f"Bearer {_signed_as_the_gateway()}"}
    assert api("gateway").get("/api/sagas", headers=forged).status_code == 200
