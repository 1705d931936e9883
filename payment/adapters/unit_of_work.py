"""Payment's unit of work: the consumer's transaction (for the messages), the payment store and the gateway."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from payment.adapters.driving_store import SqlDrivenPayments
from payment.ports import PaymentGateway, PaymentRecords
from plumbing.unit_of_work import UnitOfWork


class SqlPaymentUnitOfWork(UnitOfWork):
    """``payment.ports.PaymentUnitOfWork`` on PostgreSQL.

    ``payments`` (a ``PaymentStore``) commits on its own engine, outside ``conn``'s transaction, on
    purpose: see ``PaymentUnitOfWork``; ``driven`` works in that transaction.
    """

    def __init__(self, conn: Connection, outbox: sa.Table, payments: PaymentRecords, gateway: PaymentGateway) -> None:
        super().__init__(conn, outbox)
        self.payments = payments
        self.gateway = gateway
        self.driven = SqlDrivenPayments(conn, self)


def unit_factory(
    payments: PaymentRecords, gateway: PaymentGateway
) -> Callable[[Connection, sa.Table], SqlPaymentUnitOfWork]:
    """Payment's units of work, each on a connection, all sharing one payment store and one gateway."""

    def unit(conn: Connection, outbox: sa.Table) -> SqlPaymentUnitOfWork:
        return SqlPaymentUnitOfWork(conn, outbox, payments, gateway)

    return unit
