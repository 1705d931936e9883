"""``/dashboard/sagas/{id}/replay``: a saga's replay, confirmed first (``dashboard_pages`` says how)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from coordinator import services
from coordinator.entrypoints.dashboard_format import PATH
from coordinator.entrypoints.dashboard_pages import Done, page
from plumbing.actors import Operator, Subject, actor
from plumbing.errors import NotFound
from plumbing.wiring import TransactionsDependency


class SagaReplayController(Controller):
    """``/dashboard/sagas/{id}/replay``: confirm a saga's replay, do it, say what was sent."""

    path = f"{PATH}/sagas/{{saga_id:uuid}}/replay"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def confirm_replay(
        self, transactions: TransactionsDependency, saga_id: FromPath[uuid.UUID], sent: Done = None
    ) -> Template:
        """What a replay would send (a dry run), with the button that does it; ``sent``: it was just done."""
        context: dict[str, Any] = {"saga_id": saga_id, "sent": sent, "refused": None, "replay": None}
        try:
            context["replay"] = services.replay(transactions, saga_id, dry_run=True, actor="")
        except NotFound:
            return page("not_found.html.j2", {"saga_id": str(saga_id)}, 404)
        except services.NotReplayable as error:
            context["refused"] = str(error)
        return page("replay.html.j2", context, 409 if context["refused"] and not sent else 200)

    @post("/", sync_to_thread=True)
    def replay(
        self,
        transactions: TransactionsDependency,
        saga_id: FromPath[uuid.UUID],
        subject: Subject = None,
        operator: Operator = None,
    ) -> Template | Redirect:
        """Replay the saga as ``POST /sagas/{id}/replay`` does, recording the actor; then say what was sent."""
        try:
            done = services.replay(transactions, saga_id, dry_run=False, actor=actor(subject, operator))
        except NotFound:
            return page("not_found.html.j2", {"saga_id": str(saga_id)}, 404)
        except services.NotReplayable as error:
            context = {"saga_id": saga_id, "sent": None, "refused": str(error), "replay": None}
            return page("replay.html.j2", context, 409)
        return Redirect(f"{PATH}/sagas/{saga_id}/replay", query_params={"sent": str(done.attempt)}, status_code=303)
