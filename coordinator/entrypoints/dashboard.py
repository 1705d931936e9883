"""``/dashboard``: the sagas as HTML pages for people, read through the same queries as the JSON API.

The pages are templates (see ``dashboard_templates``: the app needs ``TEMPLATES`` as its ``template_config``).
Their live parts poll with htmx: each asks for its own URL with its id in ``HX-Target`` and gets that part alone.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, MediaType, Response, get
from litestar.params import FromPath, QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy.engine import Connection

from coordinator.adapters import saga_queries
from coordinator.adapters.saga_queries import SagaFilter, SagaPage, Summary
from coordinator.engine.instance import SagaState
from coordinator.entrypoints.dashboard_format import PATH
from coordinator.entrypoints.dashboard_progress import progress
from coordinator.entrypoints.dashboard_templates import HTMX_JS, TEMPLATES
from coordinator.entrypoints.dashboard_views import (
    PAGE_SIZE,
    Filters,
    form_context,
    saga_context,
    summary_context,
    table_context,
)
from coordinator.sagas import SAGAS
from plumbing.db import reading
from plumbing.wiring import EngineDependency

__all__ = ["TEMPLATES", "DashboardController"]

WINDOW_MINUTES = 15
_YES = ("1", "true", "on", "yes")


def _page(name: str, context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(
        name, context=context, status_code=status_code, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"}
    )


def _here(request: HTMXRequest) -> str:
    """The URL asked for, which is the one a live part polls."""
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def _known_steps() -> list[str]:
    """Every action a saga can wait on, from the registered definitions."""
    names = (action.name for registered in SAGAS.values() for action in registered.definition.actions())
    return list(dict.fromkeys(names))


def _steps(summary: Summary, filters: Filters) -> list[str]:
    """The form's choice of steps: the known ones, any in flight, and the one asked for."""
    steps = [*_known_steps(), *(s for s in summary.by_step if s != "-"), *([filters.step] if filters.step else [])]
    return list(dict.fromkeys(steps))


def _find(conn: Connection, filters: Filters, cursor: str | None) -> tuple[SagaPage, str | None]:
    """One page of sagas, and what was wrong with the state or the cursor asked for (if anything)."""
    error = None
    if filters.state is not None and filters.state not in SagaState.__members__:
        error = f"unknown state {filters.state!r}: use one of {', '.join(SagaState.__members__)}"
    where = SagaFilter(
        state=None if error else filters.state,
        step=filters.step,
        stuck=True if filters.stuck else None,
        waiting=True if filters.waiting else None,
        order_id=filters.order_id,
    )
    try:
        return saga_queries.find_sagas(conn, where, limit=filters.limit, cursor=None if error else cursor), error
    except ValueError:
        return SagaPage(items=[], next_cursor=None), "that cursor is not one this dashboard gave out"


class DashboardController(Controller):
    """HTML pages: a summary with a filterable, paged table of sagas, and one page per saga."""

    path = PATH
    include_in_schema = False
    request_class = HTMXRequest

    @get("/", sync_to_thread=True)
    def overview(
        self,
        request: HTMXRequest,
        engine: EngineDependency,
        saga_state: Annotated[str | None, QueryParameter(name="state", max_length=32)] = None,
        step: Annotated[str | None, QueryParameter(max_length=64)] = None,
        stuck: Annotated[str | None, QueryParameter(max_length=8)] = None,
        waiting: Annotated[str | None, QueryParameter(max_length=8)] = None,
        order_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = PAGE_SIZE,
    ) -> Template:
        """Counts per state and step, waiting and stuck counts, completion percentiles, then sagas newest first.

        Empty form fields mean "any"; an unknown state or a bad cursor is shown on the page (400). An htmx
        request for the ``summary`` or the ``table`` part gets that part alone.
        """
        filters = Filters(
            state=saga_state or None,
            step=step or None,
            stuck=(stuck or "").lower() in _YES,
            waiting=(waiting or "").lower() in _YES,
            order_id=(order_id or "").strip() or None,
            limit=limit,
        )
        part = request.htmx.target if request.htmx else None
        context: dict[str, Any] = {"live_url": _here(request)}
        with reading(engine) as conn:
            if part == "summary":
                summary = saga_queries.summary(conn, window_minutes=WINDOW_MINUTES)
                return _page("_summary.html.j2", context | summary_context(summary))
            result, error = _find(conn, filters, cursor)
            context |= table_context(result, filters, cursor, error)
            if part == "table":
                return _page("_table.html.j2", context, 400 if error else 200)
            summary = saga_queries.summary(conn, window_minutes=WINDOW_MINUTES)
        context |= summary_context(summary) | form_context(filters, _steps(summary, filters))
        return _page("overview.html.j2", context, 400 if error else 200)

    @get("/sagas/{saga_id:str}", sync_to_thread=True)
    def saga_page(self, request: HTMXRequest, engine: EngineDependency, saga_id: FromPath[str]) -> Template:
        """One saga: state, step, what it waits on, stuck status, failure, data, steps and compensations, and
        its timeline.

        An htmx request gets the saga's section alone.
        """
        try:
            key = uuid.UUID(saga_id)
        except ValueError:
            return _page("not_found.html.j2", {"saga_id": saga_id}, 404)
        with reading(engine) as conn:
            view = saga_queries.saga(conn, key)
        if view is None:
            return _page("not_found.html.j2", {"saga_id": saga_id}, 404)
        context = {"live_url": _here(request), **saga_context(view, progress(view))}
        return _page("_saga.html.j2" if request.htmx else "saga.html.j2", context)

    @get(f"/static/{HTMX_JS.name}", sync_to_thread=False)
    def htmx(self) -> Response[bytes]:
        """The htmx script the live pages load (its name carries its version, so browsers may keep it)."""
        return Response(
            HTMX_JS.read_bytes(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )
