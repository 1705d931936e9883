"""Payment's HTTP API: what happened to an order's payment (for support and operators)."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from payment.adapters.payment_store import PaymentStore
from plumbing.http import problems
from plumbing.wiring import EngineDependency


class PaymentView(msgspec.Struct, frozen=True):
    """An order's payment: the amount asked, its Stripe PaymentIntent and refund, and how it ended."""

    order_id: str
    status: str
    amount_cents: int
    currency: str
    intent_id: str | None
    decline_reason: str | None
    decline_code: str | None
    refund_id: str | None


@get("/payments/{order_id:str}", sync_to_thread=True, responses=problems(404))
def get_payment(engine: EngineDependency, order_id: FromPath[str]) -> PaymentView:
    """The payment of one order; 404 when payment has not seen the order (yet)."""
    payment = PaymentStore(engine).find(order_id)
    if payment is None:
        raise NotFoundException(f"no payment for order {order_id!r}")
    return PaymentView(
        order_id=payment.order_id,
        status=payment.status.value,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        intent_id=payment.intent_id,
        decline_reason=payment.decline_reason,
        decline_code=payment.decline_code,
        refund_id=payment.refund_id,
    )
