"""The coordinator's HTTP API for sagas: where each stands, the headline numbers, and operator replays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter

from contracts.base import NUL_FREE
from coordinator import services
from coordinator.adapters import saga_queries
from coordinator.adapters.saga_queries import SagaFilter, SagaPage, SagaView, Summary
from coordinator.engine.instance import SagaState
from plumbing.actors import Operator, Subject, actor
from plumbing.db import reading
from plumbing.http import FieldProblem, problems
from plumbing.wiring import EngineDependency, TransactionsDependency


class ReplayResult(msgspec.Struct):
    """What a replay sent (or, with ``dry_run``, would send)."""

    saga_id: uuid.UUID
    state: str
    action: str
    command: str
    message_id: uuid.UUID
    attempt: int
    dry_run: bool


Timestamp = Annotated[str | None, QueryParameter(max_length=64, schema_extra={"format": "date-time"})]
"""An RFC 3339 timestamp with its UTC offset, e.g. ``2026-11-30T18:00:00Z``."""


def _timestamp(name: str, value: str | None) -> datetime | None:
    """Parse a query timestamp strictly (Litestar's own parsing would also take e.g. ``0.5`` as epoch seconds)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise FieldProblem(name, f"is not an RFC 3339 timestamp: {value!r}", status_code=400) from error
    if parsed.tzinfo is None:
        raise FieldProblem(name, "needs a UTC offset (e.g. 2026-11-30T18:00:00Z)", status_code=400)
    return parsed


class SagasController(Controller):
    """``/sagas``: list and filter, one saga's timeline, a summary, and replays."""

    path = "/sagas"

    @get("/{saga_id:uuid}", sync_to_thread=True, responses=problems(404))
    def get_saga(self, engine: EngineDependency, saga_id: FromPath[uuid.UUID]) -> SagaView:
        """A saga's state, current step, what it waits on and since when, stuck status and full history; 404 when
        there is none."""
        with reading(engine) as conn:
            view = saga_queries.saga(conn, saga_id)
        if view is None:
            raise NotFoundException(f"no saga {saga_id}")
        return view

    @get("/", sync_to_thread=True, responses=problems())
    def list_sagas(
        self,
        engine: EngineDependency,
        order_id: Annotated[str | None, QueryParameter(max_length=64, pattern=NUL_FREE)] = None,
        saga_state: Annotated[SagaState | None, QueryParameter(name="state")] = None,
        step: Annotated[str | None, QueryParameter(max_length=64, pattern=NUL_FREE)] = None,
        stuck: FromQuery[bool | None] = None,
        waiting: FromQuery[bool | None] = None,
        created_since: Timestamp = None,
        created_until: Timestamp = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200, pattern=NUL_FREE)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> SagaPage:
        """Sagas newest first, filtered; with ``order_id`` each comes with its history.

        ``waiting``: the step was re-sent and has no reply yet; ``stuck``: waiting with no budget to end it.
        Follow ``next_cursor`` (as ``cursor``) for the next page.
        """
        since, until = _timestamp("created_since", created_since), _timestamp("created_until", created_until)
        where = SagaFilter(
            state=saga_state.value if saga_state else None,
            step=step,
            stuck=stuck,
            waiting=waiting,
            order_id=order_id,
            created_since=since,
            created_until=until,
        )
        try:
            with reading(engine) as conn:
                return saga_queries.find_sagas(conn, where, limit=limit, cursor=cursor)
        except ValueError as error:
            raise FieldProblem("cursor", "is not a cursor this API gave out", status_code=400) from error

    @get("/summary", sync_to_thread=True, responses=problems())
    def get_summary(
        self, engine: EngineDependency, window_minutes: Annotated[int, QueryParameter(ge=1, le=10080)] = 15
    ) -> Summary:
        """Counts per state and per step, how many wait and how many are stuck, and p50/p95/p99 of recent
        completions."""
        with reading(engine) as conn:
            return saga_queries.summary(conn, window_minutes=window_minutes)

    @post("/{saga_id:uuid}/replay", sync_to_thread=True, status_code=200, responses=problems(404, 409))
    def replay_saga(
        self,
        transactions: TransactionsDependency,
        saga_id: FromPath[uuid.UUID],
        dry_run: FromQuery[bool] = False,
        subject: Subject = None,
        operator: Operator = None,
    ) -> ReplayResult:
        """Re-send the saga's pending command (same message id and idempotency key); a FAILED saga resumes where
        it failed. 404 for an unknown saga, 409 for a COMPLETED or COMPENSATED one. The timeline names who asked
        (``actor``: ``X-Authenticated-Subject``, else ``X-Operator``, else ``direct``)."""
        try:
            done = services.replay(transactions, saga_id, dry_run=dry_run, actor=actor(subject, operator))
        except services.NotReplayable as error:
            raise FieldProblem("saga_id", str(error), status_code=409) from error
        return ReplayResult(
            saga_id=saga_id,
            state=done.state,
            action=done.action,
            command=done.command,
            message_id=done.message_id,
            attempt=done.attempt,
            dry_run=dry_run,
        )
