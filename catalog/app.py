"""Catalog's HTTP API: the products, and setting a product's stock."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, get, put
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from catalog.adapters.repository import CatalogRepository
from catalog.domain.products import Product
from catalog.handlers import publish_products
from plumbing.http import decode_strictly, problems
from plumbing.unit_of_work import Transactions
from plumbing.wiring import EngineDependency, TransactionsDependency


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
    def list_products(self, engine: EngineDependency) -> list[ProductView]:
        """Every product with its current stock."""
        with engine.connect() as conn:
            return [_view(p) for p in CatalogRepository(conn).all_products()]

    @get("/{sku:str}", sync_to_thread=True, responses=problems(404))
    def get_product(self, engine: EngineDependency, sku: FromPath[str]) -> ProductView:
        """One product by sku; 404 when there is none."""
        with engine.connect() as conn:
            product = CatalogRepository(conn).product(sku)
        if product is None:
            raise NotFoundException(f"no product with sku {sku!r}")
        return _view(product)

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
        return await anyio.to_thread.run_sync(self._set_stock, transactions, sku, data.stock)

    @staticmethod
    def _set_stock(transactions: Transactions, sku: str, stock: int) -> ProductView:
        with transactions.begin() as uow:
            repo = CatalogRepository(uow.conn)
            product = repo.lock_products([sku]).get(sku)
            if product is None:
                raise NotFoundException(f"no product with sku {sku!r}")
            product.set_stock(stock)
            repo.save_stock([product])
            publish_products(uow, [product])
        return _view(product)
