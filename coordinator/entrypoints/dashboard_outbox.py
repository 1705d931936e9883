"""``/dashboard/outbox``: the coordinator's parked outbox rows, with a button to retry or discard each.

The buttons are plain forms (no script needed): each posts here, which does what ``POST
/outbox/parked/{id}/retry`` or ``DELETE /outbox/parked/{id}`` does, then redirects back to the page (303) with
what happened. The other services' parked rows are listed by ``retrovault outbox parked``.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, MediaType, get, post
from litestar.params import Parameter, QueryParameter
from litestar.response import Redirect, Template

from coordinator.entrypoints.dashboard_format import PATH
from plumbing.db import reading
from plumbing.errors import NotFound
from plumbing.parked import MAX_ID, list_parked
from plumbing.parked_http import discard_parked, retry_parked
from plumbing.wiring import EngineDependency, TransactionsDependency

PAGE = f"{PATH}/outbox"
SHOWN = 200
"""The newest parked rows the page lists."""
RowId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
Done = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]


class OutboxDashboardController(Controller):
    """The parked outbox rows page and its two buttons."""

    path = PAGE
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def parked_page(
        self, engine: EngineDependency, retried: Done = None, discarded: Done = None, gone: Done = None
    ) -> Template:
        """The newest parked rows with their refusal, size and attempts; ``retried``, ``discarded`` or ``gone``
        (no such row any more) name the row the last button acted on."""
        with reading(engine) as conn:
            rows = list_parked(conn, limit=SHOWN)
        context = {"rows": rows, "shown": SHOWN, "retried": retried, "discarded": discarded, "gone": gone}
        return Template(
            "outbox.html.j2", context=context, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"}
        )

    @post("/{row_id:int}/retry", sync_to_thread=True)
    def retry(self, transactions: TransactionsDependency, row_id: RowId) -> Redirect:
        """Put the row back into the outbox, then show the page again."""
        try:
            retry_parked(transactions, row_id)
        except NotFound:
            return _back(gone=row_id)
        return _back(retried=row_id)

    @post("/{row_id:int}/discard", sync_to_thread=True)
    def discard(self, transactions: TransactionsDependency, row_id: RowId) -> Redirect:
        """Delete the row for good, then show the page again."""
        try:
            discard_parked(transactions, row_id)
        except NotFound:
            return _back(gone=row_id)
        return _back(discarded=row_id)


def _back(**done: int) -> Redirect:
    """See Other: the browser reloads the page with GET, so a refresh does not post again."""
    return Redirect(PAGE, query_params={name: str(row_id) for name, row_id in done.items()}, status_code=303)
