"""Sample messages shared by unit and end-to-end tests."""

from __future__ import annotations

import uuid

from contracts.base import PricedLine
from contracts.envelope import Envelope, wrap
from contracts.orders import OrderPlaced


def placed(
    order_id: str | None = None,
    *,
    sku: str = "SNES-SMW",
    quantity: int = 2,
    unit_price_cents: int = 4499,
    customer_id: str = "c-1",
) -> Envelope[OrderPlaced]:
    """An OrderPlaced event for one line, paid by a good card, as orders publishes it."""
    order_id = order_id or str(uuid.uuid4())
    event = OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        lines=[PricedLine(sku=sku, quantity=quantity, unit_price_cents=unit_price_cents)],
        total_cents=quantity * unit_price_cents,
        currency="usd",
        payment_method="pm_card_visa",
    )
    return wrap(event, correlation_id=order_id)
