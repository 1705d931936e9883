"""Payment's HTTP API: what happened to an order's payment (for support and operators)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from payment import services
from payment.domain.payments import Payment
from plumbing.http import Identifier, problems
from plumbing.wiring import TransactionsDependency


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


def _view(p: Payment) -> PaymentView:
    return PaymentView(
        order_id=p.order_id,
        status=p.status.value,
        amount_cents=p.amount_cents,
        currency=p.currency,
        intent_id=p.intent_id,
        decline_reason=p.decline_reason,
        decline_code=p.decline_code,
        refund_id=p.refund_id,
    )


class PaymentsController(Controller):
    """``GET /payments/{order_id}``."""

    path = "/payments"

    @get("/{order_id:str}", responses=problems(404))
    async def get_payment(self, transactions: TransactionsDependency, order_id: Identifier) -> PaymentView:
        """The payment of one order; 404 when payment has not seen the order (yet)."""
        return _view(await services.get_payment(transactions, order_id))
