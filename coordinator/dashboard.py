"""``/dashboard``: the sagas as HTML pages for people, read through the same queries as the JSON API."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, MediaType, Response, get
from litestar.params import FromPath, QueryParameter

from coordinator.adapters import saga_queries
from coordinator.adapters.saga_queries import SagaFilter, SagaPage
from coordinator.engine.instance import SagaState
from coordinator.sagas import SAGAS
from coordinator.templates.overview import PAGE_SIZE, Filters, render_overview
from coordinator.templates.progress import progress
from coordinator.templates.saga_page import render_not_found, render_saga
from plumbing.wiring import EngineDependency

WINDOW_MINUTES = 15
_YES = ("1", "true", "on", "yes")


def _html(body: str, status_code: int = 200) -> Response[str]:
    return Response(body, media_type=MediaType.HTML, status_code=status_code, headers={"Cache-Control": "no-store"})


def _known_steps() -> list[str]:
    """Every action a saga can wait on, from the registered definitions."""
    names: dict[str, None] = {}
    for registered in SAGAS.values():
        definition = registered.definition
        names |= dict.fromkeys(step.send.name for step in definition.steps)
        names |= dict.fromkeys(action.name for action in definition.compensations(len(definition.steps)))
    return list(names)


class DashboardController(Controller):
    """HTML pages: a summary with a filterable, paged table of sagas, and one page per saga."""

    path = "/dashboard"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def overview(
        self,
        engine: EngineDependency,
        saga_state: Annotated[str | None, QueryParameter(name="state", max_length=32)] = None,
        step: Annotated[str | None, QueryParameter(max_length=64)] = None,
        stuck: Annotated[str | None, QueryParameter(max_length=8)] = None,
        order_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = PAGE_SIZE,
    ) -> Response[str]:
        """Counts per state and step, stuck count, completion percentiles, then sagas newest first.

        Empty form fields mean "any"; an unknown state or a bad cursor is shown on the page (400).
        """
        filters = Filters(
            state=saga_state or None,
            step=step or None,
            stuck=(stuck or "").lower() in _YES,
            order_id=(order_id or "").strip() or None,
            limit=limit,
        )
        error = None
        if filters.state is not None and filters.state not in SagaState.__members__:
            error = f"unknown state {filters.state!r}: use one of {', '.join(SagaState.__members__)}"
        where = SagaFilter(
            state=None if error else filters.state,
            step=filters.step,
            stuck=True if filters.stuck else None,
            order_id=filters.order_id,
        )
        with engine.connect() as conn:
            summary = saga_queries.summary(conn, window_minutes=WINDOW_MINUTES)
            try:
                result = saga_queries.find_sagas(conn, where, limit=limit, cursor=None if error else cursor)
            except ValueError:
                error, result = "that cursor is not one this dashboard gave out", SagaPage(items=[], next_cursor=None)
        steps = [*_known_steps(), *(s for s in summary.by_step if s != "-"), *([filters.step] if filters.step else [])]
        page = render_overview(summary, result, filters, cursor=cursor, steps=list(dict.fromkeys(steps)), error=error)
        return _html(page, 400 if error else 200)

    @get("/sagas/{saga_id:str}", sync_to_thread=True)
    def saga_page(self, engine: EngineDependency, saga_id: FromPath[str]) -> Response[str]:
        """One saga: state, step, stuck status, failure, data, steps and compensations, and its timeline."""
        try:
            key = uuid.UUID(saga_id)
        except ValueError:
            return _html(render_not_found(saga_id), 404)
        with engine.connect() as conn:
            view = saga_queries.saga(conn, key)
        if view is None:
            return _html(render_not_found(saga_id), 404)
        return _html(render_saga(view, progress(view)))
