"""``PaymentStore``'s group transaction writes its rows in order-id order, whatever order the changes came in:
two instances sharing orders during a rebalance lock them in the same order and cannot deadlock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.engine import Engine

from payment.adapters.payment_store import PaymentStore
from payment.domain.payments import Payment, PaymentStatus


class Row:
    """A ``payments`` row as a select returns it."""

    def __init__(self, values: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        self._mapping = {**values, "created_at": now, "updated_at": now}
        self.order_id = values["order_id"]


class RecordingEngine:
    """Notes the keys of every statement's rows, in the order they were sent; a select returns the inserts."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.inserted: dict[str, dict[str, Any]] = {}

    @contextmanager
    def begin(self) -> Iterator[RecordingEngine]:
        yield self

    def execute(self, statement: Any, rows: Any) -> list[Row]:
        if isinstance(rows, dict):  # the select of the new payments
            return [Row(self.inserted[key]) for key in rows["keys"]]
        self.sent.append([row.get("order_id", row.get("key")) for row in rows])
        self.inserted.update({row["order_id"]: row for row in rows if "order_id" in row})
        return []


def payment(order_id: str) -> Payment:
    return Payment(
        order_id=order_id,
        idempotency_key=f"{order_id}:charge_payment",
        amount_cents=4499,
        currency="usd",
        payment_method="pm_card_visa",
    )


def test_a_groups_inserts_and_updates_go_in_order_id_order() -> None:
    engine = RecordingEngine()
    store = PaymentStore(cast(Engine, engine))

    async def scenario() -> None:
        await asyncio.gather(*(store.open(payment(order_id)) for order_id in ["o-3", "o-1", "o-2"]))
        updates = [
            store.update(payment("o-3"), intent_id="pi_3"),
            store.update(payment("o-1"), status=PaymentStatus.SUCCEEDED),
            store.update(payment("o-2"), intent_id="pi_2"),
        ]
        await asyncio.gather(*updates)

    asyncio.run(scenario())
    # One insert; then, for the updates, one statement per run of the same columns, the runs in key order.
    assert engine.sent == [["o-1", "o-2", "o-3"], ["o-1"], ["o-2", "o-3"]]
