"""Changing a product's stock through catalog's API as an operator does, for tests against the real stack."""

from __future__ import annotations

from typing import Any

from tests.support import api


def set_available(sku: str, units: int, *, attempts: int = 10) -> dict[str, Any]:
    """Make ``units`` of ``sku`` available to order (units held by reservations stay held); returns the product.

    A count carries the revision it was made against (``If-Match``); when an order changed the product in
    between (412), the product is read again and the count re-sent.
    """
    for _ in range(attempts):
        current = api("catalog").get(f"/products/{sku}")
        current.raise_for_status()
        response = api("catalog").put(
            f"/products/{sku}/stock", json={"stock": units}, headers={"If-Match": current.headers["etag"]}
        )
        if response.status_code != 412:
            response.raise_for_status()
            product: dict[str, Any] = response.json()
            return product
    raise AssertionError(f"{sku} changed under each of {attempts} counts")
