"""Database engine and the messaging tables (outbox, inbox) every service owns."""

from __future__ import annotations

import enum
import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Connection, Engine


def create_db_engine(url: str, *, pool_size: int = 8) -> Engine:
    """A pooled engine whose connections are checked, without a round trip, before each use.

    A restarted PostgreSQL is survived: see ``_discard_if_hung_up``.
    """
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=4, pool_recycle=1800)
    sa.event.listen(engine, "checkout", _discard_if_hung_up)
    return engine


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads: a ``READ ONLY`` transaction (a write in it fails), committed at the end (rolled back
    if the block raises).

    Committed rather than rolled back because psycopg forgets a connection's prepared statements at every
    ``rollback()`` (one may have undone a ``PREPARE``): a health check, a metrics scrape or a dashboard read would
    make the service's next statements on that connection be parsed and planned anew.
    """
    with engine.connect() as conn, conn.execution_options(postgresql_readonly=True).begin():
        yield conn


def planned_now(conn: Connection) -> None:
    """Have the rest of ``conn``'s transaction plan every statement for its parameters and the tables as they are
    now, never reusing a plan cached earlier (``SET LOCAL plan_cache_mode = force_custom_plan``).

    For tables that swing between empty and large, like the outbox: psycopg prepares a statement run five times,
    and PostgreSQL then keeps a generic plan made while the table looked empty (sequential scans in a nested
    loop), which against a backlog of thousands of rows ran for minutes (found at 150 sagas/s: the relay's
    deletion of acknowledged rows held up its publishing, and every saga timed out).
    """
    conn.execute(_CUSTOM_PLANS)


_CUSTOM_PLANS = sa.text("SET LOCAL plan_cache_mode = force_custom_plan")


def _discard_if_hung_up(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server has hung up on, so the pool opens a fresh one.

    ``pool_pre_ping`` would cost a ``SELECT 1`` round trip per transaction (two per message: the consumer's
    and the relay's), about a fifth of our statements. An idle connection, though, has nothing to read
    unless the server sent something: the notice and end of stream of a shut-down or restarted server,
    or the end of stream of a killed one. So a readable socket, or a client-side closed/broken flag, means
    discard it; SQLAlchemy then checks out another connection (it retries a ``DisconnectionError`` raised
    here). A hang-up the socket cannot show yet (a silent network drop) surfaces as an error on first use,
    which invalidates the pool and is retried like any outage.
    """
    if dbapi_connection.closed or getattr(dbapi_connection, "broken", False):
        raise sa.exc.DisconnectionError("connection closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise sa.exc.DisconnectionError("the server hung up on this connection")


def messaging_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """The outbox (messages to publish) and the inbox (message ids already applied)."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("message_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("message_type", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # The reply a command was answered with (its outbox row), sent again when the command comes again.
        sa.Column("reply_topic", sa.Text, nullable=True),
        sa.Column("reply_key", sa.Text, nullable=True),
        sa.Column("reply_value", sa.LargeBinary, nullable=True),
        sa.Column("reply_headers", JSONB, nullable=True),
        sa.Index("inbox_by_applied_at", "applied_at"),  # for pruning (plumbing.migrations.add_inbox_age_index)
    )
    return outbox, inbox


class Fault(enum.Enum):
    """What a failed database call says about retrying it."""

    OUTAGE = "outage"
    """The database cannot work at all right now (unreachable, shutting down, out of resources): wait, without bound."""
    CONFLICT = "conflict"
    """The database works, but this attempt collided with another transaction: retry, a bounded number of times."""
    PERMANENT = "permanent"
    """The work itself is wrong or impossible (bad data, a constraint, a limit, a bug): retrying cannot help."""


_FAULT_BY_SQLSTATE: dict[str, Fault] = {
    "08": Fault.OUTAGE,  # connection exception
    # Insufficient resources (disk full, out of memory, too many connections): the server's trouble, not the
    # message's. Every message would fail alike, so giving up on them would throw away all work until it is fixed.
    "53": Fault.OUTAGE,
    "57P01": Fault.OUTAGE,  # admin shutdown
    "57P02": Fault.OUTAGE,  # crash shutdown
    "57P03": Fault.OUTAGE,  # cannot connect now (starting up, recovering)
    "58": Fault.OUTAGE,  # system error: I/O error, undefined file
    "40003": Fault.OUTAGE,  # statement completion unknown: the connection went during a commit
    "40001": Fault.CONFLICT,  # serialization failure
    "40P01": Fault.CONFLICT,  # deadlock detected
    "55P03": Fault.CONFLICT,  # lock not available (NOWAIT, lock_timeout)
}
"""SQLSTATE (class or full code; the longest match wins) -> fault. Every other SQLSTATE is permanent: data
exceptions 22, integrity 23, syntax and undefined objects 42, program limits 54 (e.g. an index row over the
btree maximum), query canceled 57014 (a statement timeout that would hit again), internal errors XX."""


def fault_of(error: BaseException) -> Fault:
    """Classify a database error by its SQLSTATE (the one place that does); anything else is permanent.

    An error without SQLSTATE is an outage when it is about the connection (psycopg's connection failures,
    a closed or invalidated connection, an exhausted pool) and permanent otherwise (e.g. psycopg refusing a
    NUL in a text parameter).
    """
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return Fault.OUTAGE
    sqlstate = getattr(getattr(error, "orig", error), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        return _FAULT_BY_SQLSTATE.get(sqlstate) or _FAULT_BY_SQLSTATE.get(sqlstate[:2]) or Fault.PERMANENT
    connection_trouble = (
        sa.exc.OperationalError,
        sa.exc.InterfaceError,
        sa.exc.DisconnectionError,
        sa.exc.TimeoutError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    )
    return Fault.OUTAGE if isinstance(error, connection_trouble) else Fault.PERMANENT


def is_transient(error: BaseException) -> bool:
    """True for errors that say the database is unreachable or busy, not that the work is wrong."""
    return fault_of(error) is not Fault.PERMANENT
