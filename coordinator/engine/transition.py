"""What one event does to a saga: the commands it sends and the timeline entries it records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.envelope import Envelope
from contracts.topics import Topic
from coordinator.engine.instance import HistoryEntry, SagaInstance


@dataclass(frozen=True)
class Outgoing:
    """A command to publish (through the outbox)."""

    topic: Topic
    key: str
    envelope: Envelope[Any]


@dataclass
class Transition:
    """What one event did to a saga: commands to send and timeline entries to record."""

    commands: list[Outgoing] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)


def command_id(saga_id: uuid.UUID, action: str) -> uuid.UUID:
    """A command's message id: the same on every attempt, so participants apply it once."""
    return uuid.uuid5(saga_id, action)


def note(
    transition: Transition,
    saga: SagaInstance,
    now: datetime,
    kind: str,
    action: str | None,
    envelope: Envelope[Any] | None = None,
    *,
    attempt: int | None = None,
    detail: str | None = None,
) -> None:
    """Add one entry to the saga's timeline."""
    transition.history.append(
        HistoryEntry(
            saga_id=saga.saga_id,
            at=now,
            kind=kind,
            action=action,
            message_type=envelope.type if envelope else None,
            message_id=envelope.message_id if envelope else None,
            attempt=attempt,
            detail=detail,
        )
    )
