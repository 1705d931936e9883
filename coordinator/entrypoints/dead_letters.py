"""``/dead-letters``: list what consumers refused, and re-submit one after a fix (through the outbox)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter

from coordinator import services
from coordinator.settings import CoordinatorSettings
from plumbing.dead_letters import DeadLetter, find_dead_letter, read_dead_letters
from plumbing.http import Identifier, problems
from plumbing.wiring import TransactionsDependency


class Resubmitted(msgspec.Struct):
    """A dead letter put back on its original topic."""

    id: str
    topic: str
    message_id: str | None


class DeadLettersController(Controller):
    """Operators' view of the ``deadletter`` topic."""

    path = "/dead-letters"

    @get("/", sync_to_thread=True, responses=problems())
    def list_dead_letters(
        self, settings: NamedDependency[CoordinatorSettings], limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100
    ) -> list[DeadLetter]:
        """The newest dead letters, oldest first, each with its reason and original bytes (``value``, base64)."""
        return read_dead_letters(settings.kafka_client(), limit=limit)

    @post("/{ident:str}/replay", sync_to_thread=True, status_code=200, responses=problems(404))
    def replay_dead_letter(
        self,
        transactions: TransactionsDependency,
        settings: NamedDependency[CoordinatorSettings],
        ident: Identifier,
    ) -> Resubmitted:
        """Put a dead letter (by id or original message id) back on its topic, unchanged; 404 if unknown.

        It goes through the coordinator's outbox like every message; its consumer applies it at most
        once (a dead-lettered message was never recorded in any inbox).
        """
        letter = find_dead_letter(settings.kafka_client(), ident)
        if letter is None:
            raise NotFoundException(f"no dead letter {ident!r}")
        services.resubmit(
            transactions, topic=letter.topic, key=letter.key, value=letter.value, headers=letter.original_headers
        )
        return Resubmitted(id=letter.id, topic=letter.topic, message_id=letter.message_id)
