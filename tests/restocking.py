"""Changing a product's stock through catalog's API as an operator does, for tests against the real stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support import api


@contextmanager
def stock_put_back() -> Iterator[None]:
    """Every product's available units as they were before, for tests that adjust stock or place orders."""
    before = {p["sku"]: p["stock"] for p in api("catalog").get("/products").json()}
    yield
    for sku, units in before.items():
        set_available(sku, units)


def set_available(sku: str, units: int, *, attempts: int = 10, operator: httpx.Client | None = None) -> dict[str, Any]:
    """Make ``units`` of ``sku`` available to order (units held by reservations stay held); returns the product.

    A count carries the revision it was made against (``If-Match``); when an order changed the product in
    between (412), the product is read again and the count re-sent. ``operator``: a client of the gateway with an
    operator's token (paths under ``/api``); None: catalog's own API.
    """
    client, products = (api("catalog"), "/products") if operator is None else (operator, "/api/products")
    for _ in range(attempts):
        current = client.get(f"{products}/{sku}")
        current.raise_for_status()
        response = client.put(
            f"{products}/{sku}/stock", json={"stock": units}, headers={"If-Match": current.headers["etag"]}
        )
        if response.status_code != 412:
            response.raise_for_status()
            product: dict[str, Any] = response.json()
            return product
    raise AssertionError(f"{sku} changed under each of {attempts} counts")
