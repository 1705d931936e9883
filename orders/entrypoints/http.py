"""Orders' HTTP API: place an order, read an order."""

from __future__ import annotations

import weakref
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, HttpMethod, Request, Response, get, post, route
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from contracts.base import NUL_FREE, CustomerId, Lines, PaymentMethod
from orders import services
from orders.domain.pricing import UnknownProduct
from orders.ports import OrdersUnitOfWork
from orders.services import OrderRecord, PlaceOrderRequest
from orders.settings import OrdersSettings
from plumbing.db import Fault, fault_of
from plumbing.group_commit import GroupCommit
from plumbing.http import FieldProblem, Identifier, decode_strictly, if_unavailable, problems
from plumbing.unit_of_work import UnitsOfWork
from plumbing.wiring import TransactionsDependency


class PlaceOrderBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /orders`` body: who orders, what (1 to 50 lines of 1 to 100 each), and how they pay."""

    customer_id: CustomerId
    items: Lines
    payment_method: PaymentMethod


class OrderAccepted(msgspec.Struct):
    """The order is stored and its saga will start."""

    order_id: str
    status: str


class OrderLineView(msgspec.Struct):
    """One line of an order."""

    sku: str
    quantity: int
    unit_price_cents: int


class OrderView(msgspec.Struct):
    """An order as the API shows it; ``reason`` is set when it was rejected."""

    order_id: str
    customer_id: str
    status: str
    reason: str | None
    total_cents: int
    currency: str
    payment_method: str
    items: list[OrderLineView]
    created_at: datetime
    updated_at: datetime


class OrdersController(Controller):
    """``POST /orders``, ``GET /orders?customer_id=`` and ``GET /orders/{order_id}``."""

    path = "/orders"

    # Litestar answers OPTIONS for a path with the methods of the first handler registered on it only (2.25: the
    # OPTIONS handler it makes then is never remade), so ``/orders`` answers its own. A controller's handlers are
    # registered by name: this one's must sort first.
    @route("/", http_method=[HttpMethod.OPTIONS], include_in_schema=False, status_code=204)
    async def allow(self) -> Response[None]:
        """The methods ``/orders`` takes."""
        return Response(None, status_code=204, headers={"Allow": "GET, OPTIONS, POST"})

    @post(
        "/",
        status_code=202,
        responses=problems(409, 422),
        opt=if_unavailable("the order may have been created; retry with the same Idempotency-Key"),
    )
    async def create_order(
        self,
        data: JSONBody[PlaceOrderBody],
        request: Request[Any, Any, Any],
        transactions: TransactionsDependency,
        settings: NamedDependency[OrdersSettings],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", required=False, max_length=255)
        ] = None,
    ) -> Response[OrderAccepted]:
        """Accept an order as PENDING (durably, with its OrderPlaced event) and answer 202.

        Litestar's decoding of ``data`` coerces types ("2" becomes 2), so the raw body is decoded again
        strictly; ``data`` documents the body in the OpenAPI document.
        """
        data = decode_strictly(await request.body(), PlaceOrderBody)
        window_s = settings.orders_group_commit_ms / 1000
        return await anyio.to_thread.run_sync(_place, transactions, window_s, _request(data, idempotency_key))

    @get("/", sync_to_thread=True, responses=problems())
    def list_orders(
        self,
        transactions: TransactionsDependency,
        customer_id: Annotated[str, QueryParameter(min_length=1, max_length=64, pattern=NUL_FREE)],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> list[OrderView]:
        """A customer's ``limit`` newest orders, newest first (none: an empty list)."""
        return [_view(record) for record in services.customer_orders(transactions, customer_id, limit)]

    @get("/{order_id:str}", sync_to_thread=True, responses=problems(404))
    def get_order(self, transactions: TransactionsDependency, order_id: Identifier) -> OrderView:
        """The order with its status, and the reason when it was rejected; 404 when there is none."""
        return _view(services.get_order(transactions, order_id))


def _request(data: PlaceOrderBody, idempotency_key: str | None) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        customer_id=data.customer_id,
        lines=[(item.sku, item.quantity) for item in data.items],
        payment_method=data.payment_method,
        idempotency_key=idempotency_key,
    )


_FRONT_DOORS: weakref.WeakKeyDictionary[object, GroupCommit[PlaceOrderRequest, services.Placed]] = (
    weakref.WeakKeyDictionary()
)


def _front_door(
    units: UnitsOfWork[OrdersUnitOfWork], window_s: float
) -> GroupCommit[PlaceOrderRequest, services.Placed]:
    """The group commit that concurrent ``POST /orders`` requests share (one per service's units of work)."""
    door = _FRONT_DOORS.get(units)
    if door is None:
        door = _FRONT_DOORS.setdefault(units, _group_commit(units, window_s))
    return door


def _group_commit(
    units: UnitsOfWork[OrdersUnitOfWork], window_s: float
) -> GroupCommit[PlaceOrderRequest, services.Placed]:
    return GroupCommit(
        name="orders",
        together=lambda requests, scope: services.place_orders(units, requests, scope),
        alone=lambda request: services.place_order(units, request),
        alone_after=lambda error: fault_of(error) is not Fault.OUTAGE,  # an outage may have hit the commit itself
        window_s=window_s,
    )


def _place(
    units: UnitsOfWork[OrdersUnitOfWork], window_s: float, request: PlaceOrderRequest
) -> Response[OrderAccepted]:
    try:
        order, _created = _front_door(units, window_s).submit(request)
    except UnknownProduct as error:
        raise FieldProblem(f"items[{error.index}].sku", str(error)) from error
    except services.IdempotencyConflict as error:
        raise FieldProblem(
            "Idempotency-Key", "was already used with a different request body", status_code=409
        ) from error
    return Response(
        OrderAccepted(order_id=order.order_id, status=order.status.value),
        status_code=202,
        headers={"Location": f"/orders/{order.order_id}"},
    )


def _view(record: OrderRecord) -> OrderView:
    order = record.order
    return OrderView(
        order_id=order.order_id,
        customer_id=order.customer_id,
        status=order.status.value,
        reason=order.reason,
        total_cents=order.total_cents,
        currency=order.currency,
        payment_method=order.payment_method,
        items=[OrderLineView(x.sku, x.quantity, x.unit_price_cents) for x in order.lines],
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
