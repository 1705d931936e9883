"""Read-side queries for the saga API (no locks, no domain objects)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from coordinator.adapters.tables import saga_history, sagas


class HistoryView(msgspec.Struct):
    """One timeline entry."""

    at: datetime
    kind: str
    action: str | None
    message_type: str | None
    message_id: uuid.UUID | None
    attempt: int | None
    detail: str | None


class SagaView(msgspec.Struct):
    """A saga as the API shows it."""

    saga_id: uuid.UUID
    saga_type: str
    order_id: str
    state: str
    current_step: str | None
    attempts: int
    deadline_at: datetime | None
    failure_reason: str | None
    stuck_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    data: dict[str, Any]
    history: list[HistoryView] = []


def _view(row: sa.Row[tuple[object, ...]], history: list[HistoryView]) -> SagaView:
    m = row._mapping
    return SagaView(
        saga_id=m["saga_id"],
        saga_type=m["saga_type"],
        order_id=m["order_id"],
        state=m["state"],
        current_step=m["current_action"],
        attempts=m["attempts"],
        deadline_at=m["deadline_at"],
        failure_reason=m["failure_reason"],
        stuck_reason=m["stuck_reason"],
        version=m["version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        finished_at=m["finished_at"],
        data=m["data"],
        history=history,
    )


def _history(conn: Connection, saga_id: uuid.UUID) -> list[HistoryView]:
    h = saga_history
    rows = conn.execute(
        sa.select(h.c.at, h.c.kind, h.c.action, h.c.message_type, h.c.message_id, h.c.attempt, h.c.detail)
        .where(h.c.saga_id == saga_id)
        .order_by(h.c.id)
    )
    return [HistoryView(**row._mapping) for row in rows]


def saga(conn: Connection, saga_id: uuid.UUID) -> SagaView | None:
    """One saga with its full history, or None."""
    row = conn.execute(sa.select(sagas).where(sagas.c.saga_id == saga_id)).first()
    return _view(row, _history(conn, saga_id)) if row else None


def sagas_for_order(conn: Connection, order_id: str) -> list[SagaView]:
    """Every saga of an order, with history."""
    rows = conn.execute(sa.select(sagas).where(sagas.c.order_id == order_id).order_by(sagas.c.created_at)).all()
    return [_view(row, _history(conn, row.saga_id)) for row in rows]


def recent_sagas(conn: Connection, *, state: str | None, limit: int) -> list[SagaView]:
    """The newest sagas (without history), optionally in one state."""
    query = sa.select(sagas).order_by(sagas.c.created_at.desc()).limit(limit)
    if state is not None:
        query = query.where(sagas.c.state == state)
    return [_view(row, []) for row in conn.execute(query)]
