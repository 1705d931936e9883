"""``/dead-letters``: list what consumers refused with what operators did about it, and replay or discard one.

A letter is replayed (through the outbox) or discarded, never both; replaying one again takes ``again=true``,
replaying one of a saga that is no longer RUNNING takes ``force=true`` (``coordinator.letters``). A message id
several letters hold (a message refused again after a replay) names none of them: 409, listing their ids.
Each action records who asked: ``X-Authenticated-Subject`` (set by the gateway), else ``X-Operator`` (a tool's
name for its user, e.g. ``cli:alice``), else ``direct``.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from coordinator.entrypoints.dead_letter_views import (
    DeadLetterView,
    Discarded,
    Resubmitted,
    letter_or_404,
    with_dispositions,
)
from coordinator.letter_refusals import AlreadyDisposed, SagaMovedOn
from coordinator.letters import discard_letter, replay_letter
from coordinator.settings import CoordinatorSettings
from plumbing.actors import Operator, Subject, actor
from plumbing.dead_letters import AmbiguousLetter, DeadLetter, read_dead_letters
from plumbing.http import FieldProblem, Identifier, problems
from plumbing.wiring import TransactionsDependency


class DeadLettersController(Controller):
    """Operators' view of the ``deadletter`` topic, and their two actions on a letter."""

    path = "/dead-letters"

    @get("/", sync_to_thread=True, responses=problems())
    def list_dead_letters(
        self,
        transactions: TransactionsDependency,
        settings: NamedDependency[CoordinatorSettings],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[DeadLetterView]:
        """The newest dead letters, oldest first, each with its reason, original bytes (``value``, base64) and
        what an operator did with it (``disposition``: replayed or discarded, by whom, when; null: nothing)."""
        return with_dispositions(transactions, read_dead_letters(settings.kafka_client(), limit=limit))

    @post("/{ident:str}/replay", sync_to_thread=True, status_code=200, responses=problems(404, 409))
    def replay_dead_letter(
        self,
        transactions: TransactionsDependency,
        settings: NamedDependency[CoordinatorSettings],
        ident: Identifier,
        again: FromQuery[bool] = False,
        force: FromQuery[bool] = False,
        subject: Subject = None,
        operator: Operator = None,
    ) -> Resubmitted:
        """Put a dead letter (by id or original message id) back on its topic, unchanged; 404 if unknown.

        409 if it was discarded, or replayed already and ``again`` is not true, or its saga is no longer RUNNING
        (compensating or ended) and ``force`` is not true, or the message id is on several letters. It goes
        through the coordinator's outbox like every message; its consumer applies it at most once (a
        dead-lettered message was never recorded in any inbox). A letter of a saga's message is noted in the
        saga's timeline with the actor.
        """
        letter = _the_letter(settings, ident)
        try:
            done = replay_letter(transactions, letter, actor=actor(subject, operator), again=again, force=force)
        except (AlreadyDisposed, SagaMovedOn) as refused:
            raise FieldProblem("ident", str(refused), status_code=409) from refused
        return Resubmitted(letter.id, letter.topic, letter.message_id, done.actor, done.replays)

    @post("/{ident:str}/discard", sync_to_thread=True, status_code=200, responses=problems(404, 409))
    def discard_dead_letter(
        self,
        transactions: TransactionsDependency,
        settings: NamedDependency[CoordinatorSettings],
        ident: Identifier,
        subject: Subject = None,
        operator: Operator = None,
    ) -> Discarded:
        """Mark a dead letter (by id or original message id) discarded: it is never re-sent; 404 if unknown,
        409 if it was replayed or discarded already, or the message id is on several letters. Noted in its saga's
        timeline, if it has one."""
        letter = _the_letter(settings, ident)
        try:
            done = discard_letter(transactions, letter, actor=actor(subject, operator))
        except AlreadyDisposed as refused:
            raise FieldProblem("ident", str(refused), status_code=409) from refused
        assert done.at is not None, "a stored disposition has its time"
        return Discarded(letter.id, done.actor, done.at)


def _the_letter(settings: CoordinatorSettings, ident: str) -> DeadLetter:
    try:
        return letter_or_404(settings, ident)
    except AmbiguousLetter as ambiguous:
        raise FieldProblem("ident", str(ambiguous), status_code=409) from ambiguous
