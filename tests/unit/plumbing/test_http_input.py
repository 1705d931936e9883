"""The input guard: a NUL, an over-long value or a body no decoder should walk is a 400 naming the field,
answered before any handler runs (so before any query)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.di import Provide
from litestar.exceptions import ImproperlyConfiguredException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.testing import TestClient

from orders.bootstrap import HTTP_API as ORDERS_API
from orders.settings import OrdersSettings
from plumbing.http import EXCEPTION_HANDLERS, MAX_JSON_DEPTH, FieldProblem, decode_json
from plumbing.http_input import MAX_PARAMETER_CHARS, InputGuard
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.http import Client, ThroughFakes
from tests.unit.orders.fakes import FakeOrdersUnitOfWork, product, shop

CALLED: list[str] = []
NUL = "must not contain a NUL character (\\u0000)"


@get("/things/{name:str}", sync_to_thread=False)
def read_thing(name: FromPath[str], colour: FromQuery[str | None] = None) -> str:
    CALLED.append(name)
    return name


@post("/things", sync_to_thread=False)
def add_thing(data: JSONBody[dict[str, Any]]) -> str:
    CALLED.append("add")
    return "added"


def guarded(handlers: list[Any], units: FakeUnitsOfWork[Any] | None = None) -> Litestar:
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "transactions": Provide(lambda: ThroughFakes(units), sync_to_thread=False),
            "settings": Provide(OrdersSettings.load, sync_to_thread=False),
        }
        if units
        else {},
        exception_handlers=EXCEPTION_HANDLERS,
        plugins=[InputGuard()],
    )


@pytest.fixture
def client() -> Iterator[Client]:
    CALLED.clear()
    with TestClient(guarded([read_thing, add_thing])) as client:
        yield client


def refused(response: Any, field: str, message: str) -> None:
    assert (response.status_code, response.headers["content-type"]) == (400, "application/problem+json")
    assert response.json() == {
        "type": "about:blank",
        "title": "Invalid request",
        "status": 400,
        "detail": f"{field}: {message}",
        "errors": [{"field": field, "message": message}],
    }


def send(client: Client, raw: bytes) -> Any:
    return client.post("/things", content=raw, headers={"Content-Type": "application/json"})


def test_a_nul_in_a_path_parameter_is_refused_naming_it(client: Client) -> None:
    refused(client.get("/things/a%00b"), "name", NUL)
    assert CALLED == []


def test_a_nul_in_a_query_value_is_refused_naming_it(client: Client) -> None:
    refused(client.get("/things/a?colour=%00"), "colour", NUL)
    refused(client.get("/things/a?unknown=x%00"), "unknown", NUL)
    assert CALLED == []


def test_parameters_over_the_longest_any_route_takes_are_refused(client: Client) -> None:
    over = f"is longer than {MAX_PARAMETER_CHARS} characters"
    refused(client.get("/things/" + "x" * (MAX_PARAMETER_CHARS + 1)), "name", over)
    refused(client.get("/things/a", params={"colour": "é" * (MAX_PARAMETER_CHARS + 1)}), "colour", over)
    assert CALLED == []
    assert client.get("/things/" + "x" * MAX_PARAMETER_CHARS).status_code == 200


def test_a_nul_anywhere_in_a_body_is_refused_naming_its_path(client: Client) -> None:
    refused(send(client, b'{"items": [{"sku": "A"}, {"sku": "B\\u0000"}]}'), "items[1].sku", NUL)
    refused(send(client, b'{"a": {"k\\u0000": 1}}'), "a.k\x00", NUL)
    assert CALLED == []
    assert send(client, b'{"note": "a backslash, not a NUL: \\\\u0000"}').status_code == 201


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 2000 + b"]" * 2000, f"is nested deeper than {MAX_JSON_DEPTH} levels"),  # msgspec: RecursionError
        (b'{"a": ' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), "is nested deeper than 32 levels"),
        (
            b'{"name": "\xff\xfe"}',
            "malformed JSON: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        ),
        (b'{"n": 1e400}', "Number out of range"),
        (b'{"n": ' + b"9" * 5000 + b"}", "Integer value out of range"),
        (b'{"name": "a\x00"}', "malformed JSON: JSON is malformed: invalid character (byte 11)"),
        (b'{"name": ', "malformed JSON: Input data was truncated"),
    ],
)
def test_a_body_no_decoder_should_walk_is_refused(client: Client, raw: bytes, message: str) -> None:
    refused(send(client, raw), "body", message)
    assert CALLED == []


def test_nesting_up_to_the_limit_is_taken(client: Client) -> None:
    assert send(client, b'{"a": ' * MAX_JSON_DEPTH + b"1" + b"}" * MAX_JSON_DEPTH).status_code == 201


def test_a_route_that_takes_no_body_does_not_read_one(client: Client) -> None:
    response = client.request("GET", "/things/a", content=b"[" * 2000, headers={"Content-Type": "application/json"})
    assert (response.status_code, CALLED) == (200, ["a"])


def test_decode_json_names_the_field_itself() -> None:
    with pytest.raises(FieldProblem) as caught:
        decode_json(b'[{"sku": "x"}, {"sku": "\\u0000"}]')
    assert (caught.value.field, caught.value.message) == ("[1].sku", NUL)
    assert decode_json(b'{"a": [1, "b"]}') == {"a": [1, "b"]}
    assert msgspec.json.decode(b'"\\u0000"') == "\x00"  # what the guard is for: msgspec itself takes it


def test_an_app_with_a_before_request_hook_of_its_own_is_a_mistake() -> None:
    async def own(request: Any) -> None:
        return None

    with pytest.raises(ImproperlyConfiguredException, match="before_request"):
        Litestar(route_handlers=[read_thing], before_request=own, plugins=[InputGuard()])


@pytest.fixture
def units() -> FakeUnitsOfWork[FakeOrdersUnitOfWork]:
    return shop(product("NES-SMB3", price_cents=4999))


@pytest.fixture
def orders(units: FakeUnitsOfWork[FakeOrdersUnitOfWork]) -> Iterator[Client]:
    with TestClient(guarded(ORDERS_API, units)) as client:
        yield client


GOOD = {"customer_id": "c-1", "items": [{"sku": "NES-SMB3", "quantity": 1}], "payment_method": "pm_card_visa"}


@pytest.mark.parametrize("field", ["customer_id", "payment_method"])
def test_orders_a_nul_in_an_order_is_refused_and_nothing_is_written(
    orders: Client, units: FakeUnitsOfWork[FakeOrdersUnitOfWork], field: str
) -> None:
    refused(orders.post("/orders", json={**GOOD, field: "c\x001"}), field, NUL)
    assert (units.committed, units.rolled_back, units.uow.orders.rows, units.uow.sent) == (0, 0, {}, [])


def test_orders_a_nul_or_10_kb_order_id_is_refused_naming_it(orders: Client) -> None:
    refused(orders.get("/orders/%00"), "order_id", NUL)
    refused(orders.get("/orders/" + "7" * 10_000), "order_id", f"is longer than {MAX_PARAMETER_CHARS} characters")
    refused(orders.get("/orders/" + "7" * 65), "order_id", "Expected `str` of length <= 64")
