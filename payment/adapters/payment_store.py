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
        self._writes: GroupCommit[_Open | _Update, Payment | str | None] = GroupCommit(self._write)

    async def open(self, payment: Payment) -> Payment:
        """Record a new payment, or return the one this order already has."""
        values = {k: v for k, v in vars(payment).items()}
        values["status"] = payment.status.value
        opened = await self._writes.submit(_Open(values))
        assert isinstance(opened, Payment)
        return opened

    async def find(self, order_id: str) -> Payment | None:
        """The order's payment, or None."""
        return await asyncio.to_thread(self._find, order_id)

    async def update(self, payment: Payment, **changes: Any) -> Payment:
        """Apply and commit changes to a payment. An intent id is stored only if the payment has none: else the
        stored one (another instance's, its driver's) stays, and ``payment`` takes it (that one is confirmed)."""
        for name, value in changes.items():
            setattr(payment, name, value)
        values = {name: (v.value if isinstance(v, PaymentStatus) else v) for name, v in changes.items()}
        stored = await self._writes.submit(_Update({**values, "key": payment.order_id}))
        if "intent_id" in changes:
            assert stored is None or isinstance(stored, str)
            payment.intent_id = stored
        return payment

    def _find(self, order_id: str) -> Payment | None:
        with self._engine.connect() as conn:
            row = conn.execute(_BY_ORDER, {"key": order_id}).first()
        return payment_of(row) if row else None

    def _write(self, changes: list[_Open | _Update]) -> list[Payment | str | None]:
        """One transaction: the new payments in one insert (and read back in one select), then the updates, one
        executemany per run of one set of columns (an intent id already stored is kept, see ``_update``); in the
        order of ``changes``, the opened payments as stored and, for an update of the intent id, the one stored.

        Rows are written in order-id order, not arrival order: two instances' transactions (during a rebalance
        both may hold changes to the same orders) then lock their common rows in the same order and cannot
        deadlock. An order has at most one change in a group (its messages run in turn).
        """
        opens = sorted((c.values for c in changes if isinstance(c, _Open)), key=lambda values: values["order_id"])
        updates = sorted((c.values for c in changes if isinstance(c, _Update)), key=lambda values: values["key"])
        stored: dict[str, Payment] = {}
        stored_intents: dict[str, str] = {}
        with self._engine.begin() as conn:
            if opens:
                conn.execute(_INSERT_NEW, opens)
                keys = [values["order_id"] for values in opens]
                stored = {row.order_id: payment_of(row) for row in conn.execute(_BY_ORDERS, {"keys": keys})}
            for columns, rows in groupby(updates, key=_columns):
                conn.execute(_update(columns), list(rows))
            if intents := [values["key"] for values in updates if "intent_id" in values]:
                stored_intents = {
                    row.order_id: row._mapping["intent_id"] for row in conn.execute(_BY_ORDERS, {"keys": intents})
                }
        return [_result(change, stored, stored_intents) for change in changes]


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


def _result(change: _Open | _Update, opened: dict[str, Payment], intents: dict[str, str]) -> Payment | str | None:
    """What ``_write`` returns for ``change``: the payment opened, the intent id stored, or None."""
    if isinstance(change, _Open):
        return opened[change.values["order_id"]]
    return intents.get(change.values["key"]) if "intent_id" in change.values else None


def _columns(update: dict[str, Any]) -> tuple[str, ...]:
    """The columns an update sets."""
    return tuple(sorted(set(update) - {"key"}))


@cache
def _update(columns: tuple[str, ...]) -> sa.Update:
    """``UPDATE payments SET <columns>, updated_at = now() WHERE order_id = :key``; an intent id already stored is
    kept (in a mixed deployment another instance's driver may have stored one: confirming two intents for one
    payment would charge it twice)."""
    values: dict[str, Any] = {name: sa.bindparam(name) for name in columns}
    if "intent_id" in values:
        values["intent_id"] = sa.func.coalesce(payments.c.intent_id, values["intent_id"])
    return (
        payments.update().where(payments.c.order_id == sa.bindparam("key")).values(updated_at=sa.func.now(), **values)
    )
