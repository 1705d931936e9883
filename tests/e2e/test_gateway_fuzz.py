"""Schemathesis against the gateway's committed OpenAPI document, three times: without a token, as a customer and as
an operator. No 5xx, and every answer is one the document lists (the gateway's own refusals included).

As in ``test_openapi_fuzz.py`` (the services' own documents), each operation gets generated valid and invalid
requests and schemathesis' checks run on each answer; a test's examples are bounded by ``SETTINGS``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from infra.tokens import LocalTokens
from plumbing.settings import service_url
from tests.restocking import stock_put_back

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "gateway.json"
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
STATEFUL = {
    "GET /api/sagas": "`cursor` is opaque: only one the API gave out is a cursor",
    "POST /api/orders": "a sku must also be in the catalog (422); a customer may only name themselves as "
    "`customer_id` (403), and a customer's orders are rate-limited (429)",
    "GET /api/orders": "a customer may only name themselves as `customer_id` (403)",
    "PUT /api/products/{sku}/stock": "`If-Match` must name the product's current revision, which only a read gives",
}
"""Operations where a schema-valid request can still be rightly refused, because validity depends on state or on
who calls; every other check still runs on them."""
MAY_CALL = {
    None: {"anonymous"},
    "customer": {"anonymous", "customer"},
    "operator": {"anonymous", "customer", "operator"},
}
"""The ``x-required-role``s each run's caller has; elsewhere a valid request is rightly refused (401, 403)."""
NOT_CHECKED: list[CheckFunction] = []
"""Every check runs: ``OPTIONS`` and an unsupported method reach the service, which answers with its own ``Allow``."""


@pytest.fixture(scope="module", autouse=True)
def _stock_is_put_back() -> Iterator[None]:
    """The fuzzer adjusts and sets stock levels and places orders; give the other tests their units available back."""
    with stock_put_back():
        yield


@cache
def _headers(role: str | None) -> dict[str, str]:
    """A token for ``role``, for a customer of the fuzzer's own (so that its orders use no one else's allowance)."""
    if role is None:
        return {}
    subject = f"fuzz-{uuid.uuid4().hex[:12]}" if role == "customer" else "demo-operator"
    return {"Authorization": f"Bearer {LocalTokens().issue(subject, role).access_token}"}


def _excluded(case: schemathesis.Case[Any], role: str | None) -> list[CheckFunction]:
    refused = case.operation.definition.raw.get("x-required-role") not in MAY_CALL[role]
    stateful = refused or case.operation.label in STATEFUL
    return [*NOT_CHECKED, positive_data_acceptance] if stateful else NOT_CHECKED


def _gateway_test(role: str | None):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_path(DOCUMENT)
    if role is not None:  # the run's own token goes into every request, not tokens schemathesis makes up
        schema.config.generation.update(with_security_parameters=False)

    @schema.parametrize()
    @SETTINGS
    def test(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(
            base_url=service_url("gateway"), headers=_headers(role), excluded_checks=_excluded(case, role)
        )

    return test


test_without_a_token = _gateway_test(None)
test_as_a_customer = _gateway_test("customer")
test_as_an_operator = _gateway_test("operator")
