"""Hostile HTTP input on every service's routes: a NUL character (percent-encoded in paths and queries, escaped
or raw in JSON, a raw byte in the request line), over-long values, invalid UTF-8, deep nesting and huge numbers.

Each is a 400 problem+json naming the field (a typed path parameter that cannot match is a 404, a raw NUL in the
request line is refused by the HTTP server itself), never a 5xx; and no service writes anything.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from plumbing.http import MAX_JSON_DEPTH, NUL_REFUSED
from plumbing.http_input import MAX_PARAMETER_CHARS
from plumbing.services import SERVICE_NAMES
from plumbing.settings import service_url
from tests.support import api, query, wait_until_quiet

TOO_LONG = f"is longer than {MAX_PARAMETER_CHARS} characters"
LONG = "7" * 10_000
SKU = "NES-SMB3"
ORDER = {"customer_id": "c-1", "items": [{"sku": SKU, "quantity": 1}], "payment_method": "pm_card_visa"}
ADJUSTMENT = {"delta": 1, "reason": "delivery"}

_OUTBOX = "coalesce(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id')), 0)"
_WRITES = {
    "catalog": f"SELECT {_OUTBOX} AS outbox, (SELECT count(*) FROM products) AS n",
    "orders": f"SELECT {_OUTBOX} AS outbox, (SELECT count(*) FROM orders) AS n",
    "payment": f"SELECT {_OUTBOX} AS outbox, (SELECT count(*) FROM payments) AS n",
    "coordinator": f"SELECT {_OUTBOX} AS outbox, (SELECT count(*) FROM sagas) AS n",
}
"""Per service, what any write it could make would move: its outbox's id sequence (every change it makes
announces itself there; the relay deletes published rows, so not their count) and its main table's rows."""


@pytest.fixture(autouse=True, scope="module")
def _quiet(real_stack: None) -> None:
    """Sagas earlier tests left in flight would write (deadline re-sends) while a request is checked."""
    wait_until_quiet()


def _written(service: str) -> tuple[int, int]:
    (row,) = query(service, _WRITES[service])
    return int(row.outbox), int(row.n)


def _refused(
    service: str, method: str, path: str, status: int, errors: list[dict[str, str]] | None, **send: Any
) -> None:
    """Send one request; it must be answered ``status`` with exactly ``errors``, and the service writes nothing."""
    before = _written(service)
    response = api(service).request(method, path, **send)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert problem.get("errors") == errors
    assert _written(service) == before


def _field(name: str, message: str) -> list[dict[str, str]]:
    return [{"field": name, "message": message}]


PATH_ROUTES = [
    ("catalog", "GET", "/products/{}", "sku", None),
    ("catalog", "PUT", "/products/{}/stock", "sku", {"stock": 1}),
    ("catalog", "POST", "/products/{}/stock-adjustments", "sku", ADJUSTMENT),
    ("orders", "GET", "/orders/{}", "order_id", None),
    ("payment", "GET", "/payments/{}", "order_id", None),
    ("coordinator", "POST", "/dead-letters/{}/replay", "ident", None),
]


@pytest.mark.parametrize(("value", "message"), [("a%00b", NUL_REFUSED), ("%00", NUL_REFUSED), (LONG, TOO_LONG)])
@pytest.mark.parametrize(("service", "method", "template", "field", "body"), PATH_ROUTES)
def test_a_nul_or_10_kb_path_parameter_is_a_400_naming_it(
    service: str, method: str, template: str, field: str, body: Any, value: str, message: str
) -> None:
    _refused(service, method, template.format(value), 400, _field(field, message), json=body)


@pytest.mark.parametrize("value", ["a%00b", LONG])
@pytest.mark.parametrize(("method", "template"), [("GET", "/sagas/{}"), ("POST", "/sagas/{}/replay")])
def test_a_saga_id_that_is_not_a_uuid_matches_no_saga(method: str, template: str, value: str) -> None:
    _refused("coordinator", method, template.format(value), 404, None)


QUERY_PARAMETERS = [
    ("coordinator", "/sagas", "order_id"),
    ("coordinator", "/sagas", "state"),
    ("coordinator", "/sagas", "step"),
    ("coordinator", "/sagas", "cursor"),
    ("coordinator", "/sagas", "created_since"),
    ("coordinator", "/sagas/summary", "window_minutes"),
    ("coordinator", "/dead-letters", "limit"),
    ("catalog", "/stock-adjustments", "sku"),
    ("catalog", "/stock-adjustments", "limit"),
    ("orders", "/orders/o-1", "unknown"),
    ("payment", "/payments/o-1", "unknown"),
    *((service, "/outbox/parked", "limit") for service in SERVICE_NAMES),
]


@pytest.mark.parametrize(("value", "message"), [("1\x00", NUL_REFUSED), ("\x00", NUL_REFUSED), (LONG, TOO_LONG)])
@pytest.mark.parametrize(("service", "path", "name"), QUERY_PARAMETERS)
def test_a_nul_or_10_kb_query_value_is_a_400_naming_it(
    service: str, path: str, name: str, value: str, message: str
) -> None:
    _refused(service, "GET", path, 400, _field(name, message), params={name: value})


BODY_ROUTES = [
    ("orders", "POST", "/orders"),
    ("catalog", "PUT", f"/products/{SKU}/stock"),
    ("catalog", "POST", f"/products/{SKU}/stock-adjustments"),
]
_DEEP = b"[" * 2000 + b"]" * 2000
_TOO_DEEP = f"is nested deeper than {MAX_JSON_DEPTH} levels"
HOSTILE_BODIES = [
    (_DEEP, _field("body", _TOO_DEEP)),
    (b'{"a": ' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), _field("body", _TOO_DEEP)),
    (
        b'{"reason": "\xff\xfe"}',
        _field("body", "malformed JSON: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    ),
    (b'{"reason": "a\x00"}', _field("body", "malformed JSON: JSON is malformed: invalid character (byte 13)")),
    (b'{"reason": "a\\u0000"}', _field("reason", NUL_REFUSED)),
    (b'{"a\\u0000": 1}', _field("a\x00", NUL_REFUSED)),
    (b'{"stock": 1e400}', _field("body", "Number out of range")),
    (b'{"stock": ' + b"9" * 5000 + b"}", _field("body", "Integer value out of range")),
]


@pytest.mark.parametrize(("raw", "errors"), HOSTILE_BODIES)
@pytest.mark.parametrize(("service", "method", "path"), BODY_ROUTES)
def test_a_hostile_body_is_a_400_naming_the_field(
    service: str, method: str, path: str, raw: bytes, errors: list[dict[str, str]]
) -> None:
    _refused(service, method, path, 400, errors, content=raw, headers={"Content-Type": "application/json"})


def _order(**changes: Any) -> bytes:
    return json.dumps({**ORDER, **changes}).encode()


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        (_order(customer_id="c\x001"), _field("customer_id", NUL_REFUSED)),
        (_order(payment_method="pm_card_visa\x00"), _field("payment_method", NUL_REFUSED)),
        (_order(items=[{"sku": "\x00", "quantity": 1}]), _field("items[0].sku", NUL_REFUSED)),
        (_order(customer_id=LONG), _field("customer_id", "Expected `str` of length <= 64")),
        (_order(payment_method=LONG), _field("payment_method", "Expected `str` of length <= 255")),
        (_order(items=[{"sku": LONG, "quantity": 1}]), _field("items[0].sku", "Expected `str` of length <= 32")),
        (_order(items=[{"sku": SKU, "quantity": 10**30}]), _field("items[0].quantity", "Expected `int` <= 100")),
    ],
)
def test_an_order_with_a_nul_over_long_or_huge_value_is_a_400_naming_it(
    raw: bytes, errors: list[dict[str, str]]
) -> None:
    _refused("orders", "POST", "/orders", 400, errors, content=raw, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(("service", "target"), [("orders", b"/orders/\x00"), ("coordinator", b"/sagas?order_id=\x00")])
def test_a_raw_nul_in_the_request_line_is_refused_by_the_server(service: str, target: bytes) -> None:
    before = _written(service)
    host, port = service_url(service).removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status_line = conn.makefile("rb").readline()
    assert status_line.split(b" ")[:2] == [b"HTTP/1.1", b"400"]
    assert _written(service) == before
