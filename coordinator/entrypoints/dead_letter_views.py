"""What ``/dead-letters`` answers: the letters with their dispositions, and the outcome of an action on one."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import msgspec
from litestar.exceptions import NotFoundException

from coordinator.adapters.dispositions import DispositionStore
from coordinator.ports import Disposition
from coordinator.settings import CoordinatorSettings
from plumbing.db import reading
from plumbing.dead_letters import DeadLetter, find_dead_letter
from plumbing.wiring import TransactionsDependency


class DispositionView(msgspec.Struct):
    """What an operator did with a letter last: ``replayed`` (``replays`` times) or ``discarded``, by whom, when."""

    disposition: str
    actor: str
    at: datetime
    replays: int


class DeadLetterView(msgspec.Struct):
    """A dead letter with its reason, original bytes (``value``, base64) and disposition (null: none yet)."""

    id: str
    topic: str
    partition: str
    offset: str
    service: str
    reason: str
    message_id: str | None
    message_type: str | None
    key: str | None
    value: bytes
    headers: dict[str, str]
    disposition: DispositionView | None = None


class Resubmitted(msgspec.Struct):
    """A dead letter put back on its original topic (``replays``: how often so far), and who asked."""

    id: str
    topic: str
    message_id: str | None
    actor: str
    replays: int


class Discarded(msgspec.Struct):
    """A dead letter marked discarded: it stays on the topic but is never re-sent."""

    id: str
    actor: str
    at: datetime


def disposition_view(d: Disposition | None) -> DispositionView | None:
    """The API's view of a disposition."""
    if d is None or d.at is None:
        return None
    return DispositionView(d.disposition, d.actor, d.at, d.replays)


def with_dispositions(transactions: TransactionsDependency, letters: list[DeadLetter]) -> list[DeadLetterView]:
    """The letters, each with its disposition (one query for them all)."""
    with reading(transactions.engine) as conn:
        known = DispositionStore(conn).of(letter.unique_id for letter in letters)
    return [_view(x, disposition_view(known.get(x.unique_id))) for x in letters]


def _view(letter: DeadLetter, disposition: DispositionView | None) -> DeadLetterView:
    """The API's view of the letter: its timestamp only keys its disposition, and is left out."""
    fields = asdict(letter)
    del fields["timestamp_ms"]
    return DeadLetterView(**fields, disposition=disposition)


def letter_or_404(settings: CoordinatorSettings, ident: str) -> DeadLetter:
    """The dead letter by id (``partition-offset``) or original message id; 404 when there is none."""
    letter = find_dead_letter(settings.kafka_client(), ident)
    if letter is None:
        raise NotFoundException(f"no dead letter {ident!r}")
    return letter
