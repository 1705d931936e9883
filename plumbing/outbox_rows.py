"""What the outbox relay moves: a row to publish, and a row Kafka refused for good, to park."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One message waiting in the outbox: its row id and what goes to Kafka."""

    id: int
    topic: str
    key: str | None
    value: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Parking:
    """An outbox row to park: its id, the refusal (one line) and how many times it was tried."""

    id: int
    error: str
    attempts: int
