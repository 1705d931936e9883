"""Schemathesis against every service's committed OpenAPI document: no 5xx, and every response is the one documented.

Property-based: for each operation it generates valid and invalid requests from the document
(``docs/openapi/<service>.json``, checked against the code by ``python -m tools.openapi check``) and runs
schemathesis' checks on each response: not a server error, a documented status code and content type,
a body that matches the documented schema, and so on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from plumbing.settings import service_url
from tests.restocking import stock_put_back

STATEFUL = {
    "GET /sagas": "`cursor` is opaque: any string fits its schema, but only one the API gave out is a cursor",
    "POST /orders": "a sku fits its pattern yet must also be in the catalog (else 422 naming the field)",
    "PUT /products/{sku}/stock": "`If-Match` must name the product's current revision, which only a read gives "
    "(else 412, or 428 without it)",
}
"""Operations where a schema-valid request can still be rightly refused (with a 4xx naming the field), because
validity depends on server state the schema cannot express. Every other check still runs on them."""

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def _stock_is_put_back() -> Iterator[None]:
    """The fuzzer adjusts and sets stock levels and places orders; give the other tests their units available back."""
    with stock_put_back():
        yield


def _service_test(service: str):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_path(DOCS / f"{service}.json")

    @schema.parametrize()
    @SETTINGS
    def test(case: schemathesis.Case[Any]) -> None:
        excluded: list[CheckFunction] = [positive_data_acceptance] if case.operation.label in STATEFUL else []
        case.call_and_validate(base_url=service_url(service), excluded_checks=excluded)

    return test


test_catalog = _service_test("catalog")
test_orders = _service_test("orders")
test_payment = _service_test("payment")
test_coordinator = _service_test("coordinator")
