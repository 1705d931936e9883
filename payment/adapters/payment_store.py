"""Payment records, each change committed before its caller goes on: progress with Stripe must survive a crash."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, fields
from functools import cache
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from payment.adapters.group_commit import GroupCommit
from payment.adapters.tables import payments
from payment.domain.payments import Payment, PaymentStatus

_FIELDS = tuple(field.name for field in fields(Payment))


def payment_of(row: sa.Row[Any]) -> Payment:
    """The row's payment (its driving columns, see ``payment.adapters.driving_store``, are not the payment's)."""
    m = row._mapping
    columns: dict[str, Any] = {name: m[name] for name in _FIELDS}
    return Payment(**{**columns, "status": PaymentStatus(m["status"])})


class PaymentStore:
    """``payment.ports.PaymentRecords`` in ``payments``: transactions of its own, outside the consumer's batch.

    The consumer's transaction only records the reply and the inbox entry; if the process dies in
    between, the redelivered command finds the payment's progress here and carries on from it. The changes
    of the charges in flight at the same time commit together (``GroupCommit``): a batch of N charges costs a
    few transactions, not 3 N, and each caller goes on only once its change is durable.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writes: GroupCommit[_Open | _Update, Payment | None] = GroupCommit(self._write)

    async def open(self, payment: Payment) -> Payment:
        """Record a new payment, or return the one this order already has."""
        values = {k: v for k, v in vars(payment).items()}
        values["status"] = payment.status.value
        opened = await self._writes.submit(_Open(values))
        assert opened is not None
        return opened

    async def find(self, order_id: str) -> Payment | None:
        """The order's payment, or None."""
        return await asyncio.to_thread(self._find, order_id)

    async def update(self, payment: Payment, **changes: Any) -> Payment:
        """Apply and commit changes to a payment."""
        for name, value in changes.items():
            setattr(payment, name, value)
        values = {name: (v.value if isinstance(v, PaymentStatus) else v) for name, v in changes.items()}
        await self._writes.submit(_Update({**values, "key": payment.order_id}))
        return payment

    def _find(self, order_id: str) -> Payment | None:
        with self._engine.connect() as conn:
            row = conn.execute(_BY_ORDER, {"key": order_id}).first()
        return payment_of(row) if row else None

    def _write(self, changes: list[_Open | _Update]) -> list[Payment | None]:
        """One transaction: the new payments in one insert (and read back in one select), then the updates, one
        executemany per run of one set of columns; the opened payments as stored, in the order of ``changes``.

        Rows are written in order-id order, not arrival order: two instances' transactions (during a rebalance
        both may hold changes to the same orders) then lock their common rows in the same order and cannot
        deadlock. An order has at most one change in a group (its messages run in turn).
        """
        opens = sorted((c.values for c in changes if isinstance(c, _Open)), key=lambda values: values["order_id"])
        updates = sorted((c.values for c in changes if isinstance(c, _Update)), key=lambda values: values["key"])
        stored: dict[str, Payment] = {}
        with self._engine.begin() as conn:
            if opens:
                conn.execute(_INSERT_NEW, opens)
                keys = [values["order_id"] for values in opens]
                stored = {row.order_id: payment_of(row) for row in conn.execute(_BY_ORDERS, {"keys": keys})}
            for columns, rows in groupby(updates, key=_columns):
                conn.execute(_update(columns), list(rows))
        return [stored[change.values["order_id"]] if isinstance(change, _Open) else None for change in changes]


@dataclass(frozen=True)
class _Open:
    values: dict[str, Any]
    """A new payment's columns."""


@dataclass(frozen=True)
class _Update:
    values: dict[str, Any]
    """The columns to set, and the order id as ``key``."""


# Statements built once: building one costs more CPU than running it.
_INSERT_NEW = pg_insert(payments).on_conflict_do_nothing(index_elements=["order_id"])
_BY_ORDER = sa.select(payments).where(payments.c.order_id == sa.bindparam("key"))
_BY_ORDERS = sa.select(payments).where(payments.c.order_id == sa.any_(sa.bindparam("keys", type_=ARRAY(sa.Text))))


def _columns(update: dict[str, Any]) -> tuple[str, ...]:
    """The columns an update sets."""
    return tuple(sorted(set(update) - {"key"}))


@cache
def _update(columns: tuple[str, ...]) -> sa.Update:
    """``UPDATE payments SET <columns>, updated_at = now() WHERE order_id = :key``."""
    return (
        payments.update()
        .where(payments.c.order_id == sa.bindparam("key"))
        .values(updated_at=sa.func.now(), **{name: sa.bindparam(name) for name in columns})
    )
