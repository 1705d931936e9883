"""Bad HTTP input gets a 4xx problem+json naming the field, and writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support import api, place_order, query, settled_order, wait_until_quiet

GOOD = {"customer_id": "c-1", "items": [{"sku": "SNES-SMW", "quantity": 1}], "payment_method": "pm_card_visa"}


def _orders() -> int:
    return int(query("orders", "SELECT count(*) AS n FROM orders")[0].n)


def _outbox_and_orders() -> tuple[int, int]:
    # The outbox's id sequence, not its row count: the relay deletes published rows whenever it likes.
    written = "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id')), 0) AS n"
    return _orders(), int(query("orders", written)[0].n)


def _post(content: bytes) -> Any:
    return api("orders").post("/orders", content=content, headers={"Content-Type": "application/json"})


def _body(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (_body(items=[{"sku": "NES-NOPE", "quantity": 1}]), 422, "items[0].sku"),
        (_body(items=[{"sku": "SNES-SMW", "quantity": 0}]), 400, "items[0].quantity"),
        (_body(items=[{"sku": "SNES-SMW", "quantity": -3}]), 400, "items[0].quantity"),
        (_body(items=[{"sku": "SNES-SMW", "quantity": 10**9}]), 400, "items[0].quantity"),
        (_body(items=[{"sku": "SNES-SMW", "quantity": "2"}]), 400, "items[0].quantity"),
        (_body(items=[]), 400, "items"),
        (_body(items=[{"sku": "SNES-SMW", "quantity": 1}] * 51), 400, "items"),
        (_body(customer_id=7), 400, "customer_id"),
        (_body(customer_id=""), 400, "customer_id"),
        ({"items": GOOD["items"], "payment_method": "pm_card_visa"}, 400, "customer_id"),
        (_body(extra="x"), 400, "extra"),
        (_body(customer_id="c\x001"), 400, "customer_id"),
        (_body(payment_method="pm_card_visa\x00"), 400, "payment_method"),
        (_body(customer_id="c" * 65), 400, "customer_id"),
    ],
)
def test_invalid_order_bodies_are_refused_naming_the_field(body: dict[str, Any], status: int, field: str) -> None:
    wait_until_quiet()  # a saga still in flight would have orders write its reply to the outbox meanwhile
    before = _outbox_and_orders()
    response = api("orders").post("/orders", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert field in [e["field"] for e in problem["errors"]], problem
    assert _outbox_and_orders() == before


def test_malformed_json_is_a_400_problem() -> None:
    before = _orders()
    response = _post(b'{"customer_id": "c-1", "items": [')
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "body"
    assert _orders() == before


def test_an_oversized_body_is_refused_with_413() -> None:
    before = _orders()
    response = _post(b'{"customer_id": "' + b"x" * 100_000 + b'"}')
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _orders() == before


def test_an_unknown_order_is_a_404_problem() -> None:
    response = api("orders").get(f"/orders/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_same_idempotency_key_and_body_returns_the_same_order() -> None:
    key = str(uuid.uuid4())
    first = place_order([("NES-SMB3", 1)], headers={"Idempotency-Key": key})
    before = _orders()
    second = place_order([("NES-SMB3", 1)], headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert first.json()["order_id"] == second.json()["order_id"]
    assert _orders() == before
    settled_order(first.json()["order_id"])


def test_the_same_idempotency_key_with_another_body_is_a_409() -> None:
    key = str(uuid.uuid4())
    assert place_order([("NES-SMB3", 1)], headers={"Idempotency-Key": key}).status_code == 202
    before = _orders()
    response = place_order([("NES-SMB3", 2)], headers={"Idempotency-Key": key})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert _orders() == before


@pytest.mark.parametrize(
    ("service", "path", "field"),
    [("orders", "/orders/%00", "order_id"), ("coordinator", "/sagas?order_id=%00", "order_id")],
)
def test_a_nul_in_a_path_or_query_is_a_400_naming_the_parameter(service: str, path: str, field: str) -> None:
    response = api(service).get(path)
    assert (response.status_code, response.headers["content-type"]) == (400, "application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]
