"""Catalog's HTTP API: the products, and setting a product's stock."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody

from catalog import services
from catalog.domain.products import Product
from plumbing.http import decode_strictly, problems
from plumbing.wiring import TransactionsDependency


class StockLevel(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /products/{sku}/stock`` body: the new number of units on the shelf."""

    stock: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class ProductView(msgspec.Struct, frozen=True):
    """A product as the API shows it."""

    sku: str
    title: str
    platform: str
    release_year: int
    price_cents: int
    stock: int
    revision: int


def _view(p: Product) -> ProductView:
    return ProductView(p.sku, p.title, p.platform, p.release_year, p.price_cents, p.stock, p.revision)


class ProductsController(Controller):
    """``GET /products`` and ``GET /products/{sku}``."""

    path = "/products"

    @get("/", sync_to_thread=True, responses=problems())
    def list_products(self, transactions: TransactionsDependency) -> list[ProductView]:
        """Every product with its current stock."""
        return [_view(p) for p in services.list_products(transactions)]

    @get("/{sku:str}", sync_to_thread=True, responses=problems(404))
    def get_product(self, transactions: TransactionsDependency, sku: FromPath[str]) -> ProductView:
        """One product by sku; 404 when there is none."""
        return _view(services.get_product(transactions, sku))

    @put("/{sku:str}/stock", responses=problems(404))
    async def set_stock(
        self,
        transactions: TransactionsDependency,
        sku: FromPath[str],
        data: JSONBody[StockLevel],
        request: Request[Any, Any, Any],
    ) -> ProductView:
        """Restock (or count) a product: set its stock and announce the change; 404 for an unknown sku.

        Decoded again strictly (``"5"`` is not a number); ``data`` documents the body.
        """
        data = decode_strictly(await request.body(), StockLevel)
        return _view(await anyio.to_thread.run_sync(services.set_stock, transactions, sku, data.stock))
