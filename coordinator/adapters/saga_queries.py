"""Read-side queries for the saga API (no locks, no domain objects)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from coordinator.adapters.saga_standing import TERMINAL, Standing, stuck, waiting
from coordinator.adapters.tables import saga_history, sagas


class HistoryView(msgspec.Struct):
    """One timeline entry. ``instance``: the coordinator instance that applied it; ``participant_instance``:
    for a reply, the participant instance that executed its command (null where unknown, e.g. older entries);
    ``actor``: for an operator's step (replay, dead letter replayed or discarded), who asked for it (the
    gateway's authenticated subject, ``cli:<user>`` or ``direct``)."""

    at: datetime
    kind: str
    action: str | None
    message_type: str | None
    message_id: uuid.UUID | None
    attempt: int | None
    detail: str | None
    instance: str | None = None
    participant_instance: str | None = None
    actor: str | None = None


class SagaView(msgspec.Struct):
    """A saga as the API shows it.

    ``waiting``: its step was re-sent and has no reply yet; ``waiting_on`` names the participant,
    ``waiting_since`` when the step's command was first sent, ``resends`` how often it was sent again, and
    ``gives_up_at`` when the coordinator stops waiting and rolls back (null: it waits until answered).
    ``stuck``: waiting with no time limit left to end it (a step after the pivot or a compensation, whose
    participant must come back): someone should look. A saga waiting within its budget is not stuck.
    """

    saga_id: uuid.UUID
    saga_type: str
    order_id: str
    state: str
    current_step: str | None
    attempts: int
    deadline_at: datetime | None
    failure_reason: str | None
    stuck: bool
    stuck_since: datetime | None
    stuck_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    data: dict[str, Any]
    waiting: bool = False
    waiting_on: str | None = None
    waiting_since: datetime | None = None
    resends: int = 0
    gives_up_at: datetime | None = None
    history: list[HistoryView] = []


def _stuck_reason(m: Any, standing: Standing) -> str | None:
    if not standing.stuck:
        return None
    return m["stuck_reason"] or (
        f"no reply to {m['current_action']} yet (attempt {m['attempts']}): "
        f"re-sent until {standing.participant or 'its participant'} answers"
    )


def _view(row: sa.Row[tuple[object, ...]], history: list[HistoryView]) -> SagaView:
    m = row._mapping
    standing = Standing.of(m)
    return SagaView(
        saga_id=m["saga_id"],
        saga_type=m["saga_type"],
        order_id=m["order_id"],
        state=m["state"],
        current_step=m["current_action"],
        attempts=m["attempts"],
        deadline_at=m["deadline_at"],
        failure_reason=m["failure_reason"],
        stuck=standing.stuck,
        stuck_since=m["overdue_since"] if standing.stuck else None,
        stuck_reason=_stuck_reason(m, standing),
        version=m["version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        finished_at=m["finished_at"],
        data=m["data"],
        waiting=standing.waiting,
        waiting_on=standing.participant,
        waiting_since=(m["step_started_at"] or m["overdue_since"]) if standing.waiting else None,
        resends=max(m["attempts"] - 1, 0) if standing.waiting else 0,
        gives_up_at=standing.gives_up_at,
        history=history,
    )


def _history(conn: Connection, saga_id: uuid.UUID) -> list[HistoryView]:
    h = saga_history
    rows = conn.execute(
        sa.select(
            *(h.c.at, h.c.kind, h.c.action, h.c.message_type, h.c.message_id, h.c.attempt, h.c.detail),
            *(h.c.instance, h.c.participant_instance, h.c.actor),
        )
        .where(h.c.saga_id == saga_id)
        .order_by(h.c.id)
    )
    return [HistoryView(**row._mapping) for row in rows]


def saga(conn: Connection, saga_id: uuid.UUID) -> SagaView | None:
    """One saga with its full history, or None."""
    row = conn.execute(sa.select(sagas).where(sagas.c.saga_id == saga_id)).first()
    return _view(row, _history(conn, saga_id)) if row else None


@dataclass(frozen=True)
class SagaFilter:
    """What ``GET /sagas`` may filter on; None means any."""

    state: str | None = None
    step: str | None = None
    stuck: bool | None = None
    waiting: bool | None = None
    order_id: str | None = None
    created_since: datetime | None = None
    created_until: datetime | None = None


class SagaPage(msgspec.Struct):
    """One page of sagas, newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[SagaView]
    next_cursor: str | None


def _cursor(row: Any) -> str:
    raw = f"{row.created_at.isoformat()}|{row.saga_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def parse_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Decode a cursor; raises ValueError when it is not one of ours."""
    created_at, saga_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    return datetime.fromisoformat(created_at), uuid.UUID(saga_id)


def find_sagas(conn: Connection, where: SagaFilter, *, limit: int, cursor: str | None = None) -> SagaPage:
    """Sagas matching ``where``, newest first, ``limit`` per page (history included only for one order)."""
    s = sagas.c
    query = sa.select(sagas).order_by(s.created_at.desc(), s.saga_id.desc()).limit(limit + 1)
    if where.state is not None:
        query = query.where(s.state == where.state)
    if where.step is not None:
        query = query.where(s.current_action == where.step)
    if where.order_id is not None:
        query = query.where(s.order_id == where.order_id)
    if where.created_since is not None:
        query = query.where(s.created_at >= where.created_since)
    if where.created_until is not None:
        query = query.where(s.created_at < where.created_until)
    if where.stuck is not None:
        query = query.where(stuck() if where.stuck else sa.not_(stuck()))
    if where.waiting is not None:
        query = query.where(waiting() if where.waiting else sa.not_(waiting()))
    if cursor is not None:
        created_at, saga_id = parse_cursor(cursor)
        query = query.where(sa.tuple_(s.created_at, s.saga_id) < sa.tuple_(created_at, saga_id))
    rows = conn.execute(query).all()
    page = rows[:limit]
    with_history = where.order_id is not None
    items = [_view(row, _history(conn, row.saga_id) if with_history else []) for row in page]
    return SagaPage(items=items, next_cursor=_cursor(page[-1]) if len(rows) > limit else None)


class Durations(msgspec.Struct):
    """Percentiles of how long completed sagas took, in milliseconds."""

    window_minutes: int
    completed: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class Summary(msgspec.Struct):
    """The dashboard's headline numbers (``waiting`` and ``stuck`` as in ``SagaView``)."""

    by_state: dict[str, int]
    by_step: dict[str, int]
    stuck: int
    durations: Durations
    waiting: int = 0


def summary(conn: Connection, *, window_minutes: int) -> Summary:
    """Counts per state and per current step, how many wait and how many are stuck, and recent completion times."""
    s = sagas.c
    by_state: dict[str, int] = dict(conn.execute(sa.select(s.state, sa.func.count()).group_by(s.state)).tuples().all())
    running = s.state.not_in(TERMINAL)
    by_step: dict[str | None, int] = dict(
        conn.execute(sa.select(s.current_action, sa.func.count()).where(running).group_by(s.current_action))
        .tuples()
        .all()
    )
    waits, stuck_ = conn.execute(
        sa.select(sa.func.count().filter(waiting()), sa.func.count().filter(stuck())).where(running)
    ).one()
    millis = sa.extract("epoch", s.finished_at - s.created_at) * 1000
    since = sa.func.now() - sa.text(f"interval '{int(window_minutes)} minutes'")
    row = conn.execute(
        sa.select(
            sa.func.count(),
            *(sa.func.percentile_cont(q).within_group(millis) for q in (0.5, 0.95, 0.99)),
        ).where(s.state == "COMPLETED", s.finished_at >= since)
    ).one()
    count, p50, p95, p99 = row
    return Summary(
        by_state=by_state,
        by_step={k or "-": v for k, v in by_step.items()},
        stuck=int(stuck_),
        durations=Durations(
            window_minutes, int(count), *(round(float(p), 1) if p is not None else None for p in (p50, p95, p99))
        ),
        waiting=int(waits),
    )
