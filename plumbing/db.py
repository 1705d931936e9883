"""Database engine and the messaging tables (outbox, inbox) every service owns."""

from __future__ import annotations

import select
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Engine


def create_db_engine(url: str, *, pool_size: int = 8) -> Engine:
    """A pooled engine whose connections are checked, without a round trip, before each use.

    A restarted PostgreSQL is survived: see ``_discard_if_hung_up``.
    """
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=4, pool_recycle=1800)
    sa.event.listen(engine, "checkout", _discard_if_hung_up)
    return engine


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
    )
    return outbox, inbox


def is_transient(error: BaseException) -> bool:
    """True for errors that say the database is unreachable or busy, not that the work is wrong."""
    return isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError) or (
        isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated
    )
