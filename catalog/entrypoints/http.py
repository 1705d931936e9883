"""Catalog's HTTP API: the products with their stock figures, and operators' changes to units on hand."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, QueryParameter

from catalog import services
from catalog.domain.products import Product, StaleRevision, StockChangeRefused
from catalog.entrypoints.preconditions import (
    ETAG_HEADER,
    IF_MATCH,
    IfMatch,
    etag,
    required_revision,
)
from catalog.entrypoints.views import (
    ProductView,
    SkuFilter,
    SkuPath,
    StockAdjustmentBody,
    StockAdjustmentView,
    StockLevel,
    adjustment_view,
    product_view,
)
from plumbing.actors import Operator, Subject, actor
from plumbing.http import FieldProblem, decode_strictly, problems
from plumbing.wiring import TransactionsDependency


class ProductsController(Controller):
    """The products, their stock figures, and operators' changes to units on hand."""

    path = "/products"

    @get("/", sync_to_thread=True, responses=problems())
    def list_products(self, transactions: TransactionsDependency) -> list[ProductView]:
        """Every product with its stock figures."""
        return [product_view(p) for p in services.list_products(transactions)]

    @get("/{sku:str}", sync_to_thread=True, responses=problems(404), response_headers=[ETAG_HEADER])
    def get_product(self, transactions: TransactionsDependency, sku: SkuPath) -> Response[ProductView]:
        """One product by sku, its revision as ``ETag``; 404 when there is none."""
        return _answer(services.get_product(transactions, sku))

    @put(
        "/{sku:str}/stock",
        responses=problems(404, 409, 412, 428),
        response_headers=[ETAG_HEADER],
    )
    async def set_stock(
        self,
        transactions: TransactionsDependency,
        sku: SkuPath,
        data: JSONBody[StockLevel],
        request: Request[Any, Any, Any],
        if_match: IfMatch = None,
        subject: Subject = None,
        operator: Operator = None,
    ) -> Response[ProductView]:
        """Count a product: set the units available to order (reserved units stay held, on top of them).

        Only with ``If-Match`` naming the revision the count was made against: 428 without it, 412 when the
        product changed since. 409 past the limit of units on hand. Recorded as an adjustment (``adjusted_by``:
        ``X-Authenticated-Subject``, else ``X-Operator``, else ``direct``) and announced.
        ``data`` documents the body; it is decoded again strictly (``"5"`` is not a number).
        """
        data = decode_strictly(await request.body(), StockLevel)
        revision = required_revision(if_match)
        by = actor(subject, operator)
        return await _change(lambda: services.set_available(transactions, sku, data.stock, revision, by=by), "stock")

    @post("/{sku:str}/stock-adjustments", responses=problems(404, 409), response_headers=[ETAG_HEADER])
    async def adjust_stock(
        self,
        transactions: TransactionsDependency,
        sku: SkuPath,
        data: JSONBody[StockAdjustmentBody],
        request: Request[Any, Any, Any],
        subject: Subject = None,
        operator: Operator = None,
    ) -> Response[ProductView]:
        """Add units on hand (a delivery) or take them away (breakage, a correction), saying why; 201 and the product.
        Recorded with who made it, as a count is.

        409 naming ``delta`` when it would take reserved units (or exceed the limit): a restock never erases a
        reservation. ``data`` documents the body; it is decoded again strictly.
        """
        data = decode_strictly(await request.body(), StockAdjustmentBody)
        if data.delta == 0:
            raise FieldProblem("delta", "must not be zero", status_code=400)
        by = actor(subject, operator)
        return await _change(
            partial(services.adjust_stock, transactions, sku, data.delta, data.reason, by=by), "delta", 201
        )


class StockAdjustmentsController(Controller):
    """The record of operators' changes to units on hand.

    Not under ``/products/{sku}/stock-adjustments`` beside the POST: Litestar 2 answers ``OPTIONS`` on a path with
    two methods naming only one of them (litestar-org/litestar#4169, fixed in 3).
    """

    path = "/stock-adjustments"

    @get("/", sync_to_thread=True, responses=problems())
    def list_stock_adjustments(
        self,
        transactions: TransactionsDependency,
        sku: SkuFilter = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> list[StockAdjustmentView]:
        """The most recent changes to units on hand, newest first: of one product (``sku``) or of all."""
        return [adjustment_view(a) for a in services.stock_adjustments(transactions, sku, limit)]


def _answer(product: Product, status_code: int = 200) -> Response[ProductView]:
    return Response(product_view(product), status_code=status_code, headers=etag(product))


async def _change(apply: Callable[[], Product], field: str, status_code: int = 200) -> Response[ProductView]:
    """Run an operator's change in a worker thread; a refusal names ``field`` (409), a stale revision If-Match."""
    try:
        product = await anyio.to_thread.run_sync(apply)
    except StockChangeRefused as refused:
        raise FieldProblem(field, str(refused), status_code=409) from refused
    except StaleRevision as stale:
        raise FieldProblem(IF_MATCH, str(stale), status_code=412) from stale
    return _answer(product, status_code)
