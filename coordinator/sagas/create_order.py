"""The CreateOrder saga: reserve stock, charge the payment, approve the order.

Read the table at the bottom top to bottom for the happy path; on a failure the ``undo`` column runs
bottom to top from the failed step, then the order is rejected. Payment is the pivot: once charged, the
saga only moves forward.
"""

from __future__ import annotations

import msgspec

from contracts.base import Line, PricedLine, Reason, fit
from contracts.catalog import ReleaseStock, ReserveStock, StockReleased, StockReserved, StockUnavailable
from contracts.orders import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from contracts.payment import ChargePayment, PaymentDeclined, PaymentRefunded, PaymentSucceeded, RefundPayment
from contracts.topics import CATALOG_COMMANDS, ORDERS_COMMANDS, PAYMENT_COMMANDS
from coordinator.engine.definition import Action, SagaDefinition, Step, StepContext


class OrderSagaData(msgspec.Struct, kw_only=True):
    """What the saga knows about its order (stored as the saga row's data)."""

    order_id: str
    customer_id: str
    lines: list[PricedLine]
    total_cents: int
    currency: str
    payment_method: str
    payment_intent_id: str | None = None


Context = StepContext[OrderSagaData]


def _reserve(c: Context) -> ReserveStock:
    return ReserveStock(order_id=c.data.order_id, lines=[Line(sku=x.sku, quantity=x.quantity) for x in c.data.lines])


def _release(c: Context) -> ReleaseStock:
    return ReleaseStock(order_id=c.data.order_id)


def _charge(c: Context) -> ChargePayment:
    return ChargePayment(
        order_id=c.data.order_id,
        customer_id=c.data.customer_id,
        amount_cents=c.data.total_cents,
        currency=c.data.currency,
        payment_method=c.data.payment_method,
        idempotency_key=c.idempotency_key,
    )


def _refund(c: Context) -> RefundPayment:
    return RefundPayment(order_id=c.data.order_id, idempotency_key=c.idempotency_key)


def _approve(c: Context) -> ApproveOrder:
    return ApproveOrder(order_id=c.data.order_id)


def _reject(c: Context) -> RejectOrder:
    # A failure reason is built from replies and may chain several: cut it to what the contract carries.
    return RejectOrder(order_id=c.data.order_id, reason=fit(c.failure_reason or "rolled back", Reason))


def _remember_payment(data: OrderSagaData, reply: PaymentSucceeded) -> OrderSagaData:
    return msgspec.structs.replace(data, payment_intent_id=reply.payment_intent_id)


reserve_stock = Action("reserve_stock", CATALOG_COMMANDS, _reserve, done=StockReserved, failed=(StockUnavailable,))
release_stock = Action("release_stock", CATALOG_COMMANDS, _release, done=StockReleased)
charge_payment = Action(
    "charge_payment",
    PAYMENT_COMMANDS,
    _charge,
    done=PaymentSucceeded,
    failed=(PaymentDeclined,),
    record=_remember_payment,
)
refund_payment = Action("refund_payment", PAYMENT_COMMANDS, _refund, done=PaymentRefunded)
approve_order = Action("approve_order", ORDERS_COMMANDS, _approve, done=OrderApproved)
reject_order = Action("reject_order", ORDERS_COMMANDS, _reject, done=OrderRejected)

CREATE_ORDER = SagaDefinition(
    name="create_order",
    data_type=OrderSagaData,
    steps=(
        Step("reserve_stock", send=reserve_stock, undo=release_stock),
        Step("charge_payment", send=charge_payment, undo=refund_payment, pivot=True),
        Step("approve_order", send=approve_order),  # after the pivot: retried, never undone
    ),
    on_rollback=reject_order,
)
