"""``outbox_parked``: outbox rows Kafka refused for good, set aside so the rows behind them flow on.

A parked row keeps its outbox id, topic, key, value, headers and ``created_at``, plus when it was parked, why
(librdkafka's error) and after how many attempts. Operators list, retry (back into the outbox) or discard them
(``/outbox/parked`` in every service, ``retrovault outbox``, the dashboard). Moves are single statements in the
caller's transaction, so a row is always in exactly one of the two tables.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from plumbing.outbox_rows import OutboxRow, Parking

outbox_parked = sa.Table(
    "outbox_parked",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("headers", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
)
"""The same table in every service's database (created by each service's ``0003``/``0006`` migration)."""

MAX_ID = 2**53 - 1
"""The largest row id the HTTP API takes: the largest integer a JSON number (a double) holds exactly, so the
documented bound is the enforced one. Outbox ids (``BIGINT`` identities counting from 1) never get near it."""


class ParkedRow(msgspec.Struct, frozen=True):
    """A parked outbox row as operators see it (its bytes left out: ``size_bytes`` says how many)."""

    id: int
    topic: str
    key: str | None
    message_type: str | None
    message_id: str | None
    size_bytes: int
    error: str
    attempts: int
    created_at: datetime
    parked_at: datetime


_COPIED = ("id", "topic", "key", "value", "headers", "created_at")


def park(conn: Connection, outbox: sa.Table, parkings: list[Parking]) -> int:
    """Move each row from ``outbox`` to ``outbox_parked`` (one statement each); returns how many moved.

    A row that is no longer in the outbox (another relay sent or parked it) is skipped.
    """
    moved = 0
    for parking in parkings:
        taken = sa.delete(outbox).where(outbox.c.id == parking.id).returning(*(outbox.c[c] for c in _COPIED)).cte()
        columns = [*(taken.c[c] for c in _COPIED), sa.literal(parking.error), sa.literal(parking.attempts)]
        insert = sa.insert(outbox_parked).from_select([*_COPIED, "error", "attempts"], sa.select(*columns))
        moved += conn.execute(insert).rowcount
    return moved


def list_parked(conn: Connection, *, limit: int) -> list[ParkedRow]:
    """The newest parked rows first (at most ``limit``)."""
    p = outbox_parked
    rows = conn.execute(
        sa.select(
            p.c.id,
            p.c.topic,
            p.c.key,
            p.c.headers["type"].astext.label("message_type"),
            p.c.headers["message_id"].astext.label("message_id"),
            sa.func.octet_length(p.c.value).label("size_bytes"),
            p.c.error,
            p.c.attempts,
            p.c.created_at,
            p.c.parked_at,
        )
        .order_by(p.c.parked_at.desc(), p.c.id.desc())
        .limit(limit)
    )
    return [ParkedRow(**row._mapping) for row in rows]


def count_parked(conn: Connection) -> int:
    """How many rows are parked."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(outbox_parked)).scalar_one())


def unpark(conn: Connection, parked_id: int) -> OutboxRow | None:
    """Take a parked row out (the caller queues it in the outbox in the same transaction); None if unknown."""
    p = outbox_parked
    taken = conn.execute(
        sa.delete(p).where(p.c.id == parked_id).returning(p.c.id, p.c.topic, p.c.key, p.c.value, p.c.headers)
    ).first()
    return None if taken is None else OutboxRow(taken.id, taken.topic, taken.key, taken.value, dict(taken.headers))


def discard(conn: Connection, parked_id: int) -> bool:
    """Delete a parked row for good; False if there is none with that id."""
    return bool(conn.execute(sa.delete(outbox_parked).where(outbox_parked.c.id == parked_id)).rowcount)
