"""Catalog's HTTP API for the dashboard's stock page (implements ``coordinator.ports.CatalogStock``).

Each change forwards the operator as ``X-Authenticated-Subject``: catalog records them as the adjustment's
``adjusted_by``. Every call has a timeout; a service that cannot be reached is ``StockRefused`` with status 503.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from coordinator.ports import StockRefused
from plumbing.actors import SUBJECT_HEADER

TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class CatalogClient:
    """Catalog's ``/products`` over HTTP."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")

    def products(self) -> list[dict[str, Any]]:
        """Every product with its stock figures and revision."""
        return list(self._call("GET", "/products"))

    def adjustments(self) -> list[dict[str, Any]]:
        """The latest changes to units on hand, newest first, each with who made it."""
        return list(self._call("GET", "/stock-adjustments", params={"limit": 20}))

    def adjust(self, sku: str, delta: int, reason: str, actor: str) -> dict[str, Any]:
        """``POST /products/{sku}/stock-adjustments`` for ``actor``."""
        body = {"delta": delta, "reason": reason}
        product: dict[str, Any] = self._call(
            "POST", f"/products/{quote(sku, safe='')}/stock-adjustments", actor, json=body
        )
        return product

    def set_available(self, sku: str, available: int, revision: int, actor: str) -> dict[str, Any]:
        """``PUT /products/{sku}/stock`` with ``If-Match`` naming ``revision``, for ``actor``."""
        headers = {"If-Match": f'"{revision}"'}
        path = f"/products/{quote(sku, safe='')}/stock"
        return dict(self._call("PUT", path, actor, json={"stock": available}, headers=headers))

    def _call(self, method: str, path: str, actor: str | None = None, **kwargs: Any) -> Any:
        headers = {**kwargs.pop("headers", {}), **({SUBJECT_HEADER: actor} if actor else {})}
        try:
            with httpx.Client(base_url=self._base_url, timeout=TIMEOUT) as client:
                response = client.request(method, httpx.URL(path), headers=headers, **kwargs)
            if response.status_code < 400:
                return response.json()
            detail = (
                response.json().get("detail") if response.headers.get("content-type", "").endswith("json") else None
            )
        except httpx.HTTPError as error:
            raise StockRefused(503, f"catalog could not be reached: {error}") from error
        raise StockRefused(response.status_code, str(detail or response.text or "catalog refused it"))
