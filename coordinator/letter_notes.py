"""A dead letter's saga: found from the letter's envelope, and told in its timeline what an operator did."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from coordinator.engine.instance import HistoryEntry, SagaInstance
from coordinator.ports import CoordinatorUnitOfWork
from plumbing.dead_letters import DeadLetter


class _SagaOf(msgspec.Struct):
    saga_id: uuid.UUID | None = None


def saga_of(letter: DeadLetter) -> uuid.UUID | None:
    """The saga the letter's message belongs to, as its envelope says (None: none, or not an envelope)."""
    try:
        return msgspec.json.decode(letter.value, type=_SagaOf).saga_id
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def saga_in(uow: CoordinatorUnitOfWork, letter: DeadLetter) -> SagaInstance | None:
    """The saga the letter belongs to, as stored (None: it names none, or one the coordinator does not know)."""
    saga_id = saga_of(letter)
    return None if saga_id is None else uow.sagas.get(saga_id)


def note(
    uow: CoordinatorUnitOfWork, saga: SagaInstance | None, letter: DeadLetter, kind: str, actor: str, detail: str
) -> None:
    """Record the action on ``letter`` in the timeline of ``saga``, the one it belongs to (None: nothing to do)."""
    if saga is None:
        return
    message_id = _uuid(letter.message_id)
    entry = HistoryEntry(
        saga.saga_id, datetime.now(UTC), kind, None, letter.message_type, message_id, detail=detail, actor=actor
    )
    uow.sagas.record([entry])


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None
