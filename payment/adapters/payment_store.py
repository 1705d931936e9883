"""Payment records, each change committed at once: progress with Stripe must survive a crash."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from payment.adapters.tables import payments
from payment.domain.payments import Payment, PaymentStatus


def _payment(row: sa.Row[tuple[object, ...]]) -> Payment:
    m = dict(row._mapping)
    m.pop("created_at")
    m.pop("updated_at")
    m["status"] = PaymentStatus(m["status"])
    return Payment(**m)


class PaymentStore:
    """``payment.ports.PaymentRecords`` in ``payments``: short transactions of its own, outside the consumer's batch.

    The consumer's transaction only records the reply and the inbox entry; if the process dies in
    between, the redelivered command finds the payment's progress here and carries on from it.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def open(self, payment: Payment) -> Payment:
        """Record a new payment, or return the one this order already has."""
        values = {k: v for k, v in vars(payment).items()}
        values["status"] = payment.status.value
        with self._engine.begin() as conn:
            row = conn.execute(_INSERT_NEW, values).first() or conn.execute(_BY_ORDER, {"key": payment.order_id}).one()
        return _payment(row)

    def find(self, order_id: str) -> Payment | None:
        """The order's payment, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(_BY_ORDER, {"key": order_id}).first()
        return _payment(row) if row else None

    def update(self, payment: Payment, **changes: Any) -> Payment:
        """Apply and commit changes to a payment."""
        for name, value in changes.items():
            setattr(payment, name, value)
        values = {name: (v.value if isinstance(v, PaymentStatus) else v) for name, v in changes.items()}
        with self._engine.begin() as conn:
            conn.execute(_update(tuple(sorted(values))), {**values, "key": payment.order_id})
        return payment


# Statements built once: building one costs more CPU than running it.
_INSERT_NEW = pg_insert(payments).on_conflict_do_nothing(index_elements=["order_id"]).returning(*payments.c)
_BY_ORDER = sa.select(payments).where(payments.c.order_id == sa.bindparam("key"))


@cache
def _update(columns: tuple[str, ...]) -> sa.Update:
    """``UPDATE payments SET <columns>, updated_at = now() WHERE order_id = :key``."""
    return (
        payments.update()
        .where(payments.c.order_id == sa.bindparam("key"))
        .values(updated_at=sa.func.now(), **{name: sa.bindparam(name) for name in columns})
    )
