"""Coordinator's HTTP API: where each saga stands, with its history."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from sqlalchemy.engine import Engine

from coordinator.adapters import saga_queries
from coordinator.adapters.saga_queries import SagaView
from coordinator.engine.instance import SagaState


class SagasController(Controller):
    """``GET /sagas/{saga_id}`` and ``GET /sagas?order_id=…``."""

    path = "/sagas"

    @get("/{saga_id:uuid}", sync_to_thread=True)
    def get_saga(self, engine: Engine, saga_id: uuid.UUID) -> SagaView:
        """A saga's state, current step and full history; 404 when there is none."""
        with engine.connect() as conn:
            view = saga_queries.saga(conn, saga_id)
        if view is None:
            raise NotFoundException(f"no saga {saga_id}")
        return view

    @get("/", sync_to_thread=True)
    def list_sagas(
        self,
        engine: Engine,
        order_id: Annotated[str | None, Parameter(max_length=64)] = None,
        saga_state: Annotated[SagaState | None, Parameter(query="state")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
    ) -> list[SagaView]:
        """The sagas of one order (with history), or the newest sagas (optionally in one state)."""
        with engine.connect() as conn:
            if order_id is not None:
                return saga_queries.sagas_for_order(conn, order_id)
            return saga_queries.recent_sagas(conn, state=saga_state.value if saga_state else None, limit=limit)
