"""The coordinator as an orchestrator: start sagas, apply their replies, act on missed deadlines, replay.

The engine decides, through the registered saga; these use cases load and save the sagas, record their
timelines and send the commands the engine chose. Starting sagas and applying replies run in the consumer's
batch transaction, with a constant number of statements per batch (the outbox rows are one insert at
commit); the deadline sweep and the operators' actions open their own unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from opentelemetry.context import Context

from contracts.envelope import Envelope
from coordinator.engine.engine import Transition
from coordinator.engine.instance import HistoryEntry, SagaInstance, SagaState
from coordinator.metrics import count_lifecycle, time_step
from coordinator.ports import CoordinatorUnitOfWork, Sagas
from coordinator.sagas import SAGAS, STARTERS
from coordinator.tracing import in_saga_trace
from plumbing.errors import NotFound, Unprocessable
from plumbing.senders import writer
from plumbing.tracing import captured, current_traceparent, within
from plumbing.unit_of_work import UnitsOfWork

Scope = Callable[[Envelope[Any]], AbstractContextManager[None]]
"""Enters one reply's span and log context (``plumbing.routing.Scope``)."""


class NotReplayable(Exception):
    """The saga has finished (COMPLETED or COMPENSATED): there is nothing to re-send."""


@dataclass(frozen=True)
class Replay:
    """What a replay sent (or would send)."""

    state: str
    action: str
    command: str
    message_id: uuid.UUID
    attempt: int


def start_saga(uow: CoordinatorUnitOfWork, event: Envelope[Any]) -> SagaInstance | None:
    """Start the saga ``event`` starts (see ``coordinator.sagas.STARTERS``) and send its first command.

    Returns the new saga, or None when the event was redelivered and its saga already exists (nothing sent).
    """
    started = start_sagas(uow, [event], lambda _event: nullcontext())
    return started[0] if started else None


def start_sagas(uow: CoordinatorUnitOfWork, events: list[Envelope[Any]], scope: Scope) -> list[SagaInstance]:
    """Start the sagas a batch's events start with one insert of sagas and one of their timelines, and send
    their first commands; returns the sagas started (a redelivered event's saga exists already: nothing sent).

    An event that starts no saga is ``Unprocessable``. Two events for one order in a batch start it once. Each
    event's scope is entered once, to decide; its first command is sent in the trace context captured there.
    """
    begun: dict[uuid.UUID, tuple[SagaInstance, Transition, Context, str | None]] = {}
    for event in events:
        with scope(event):
            starter = STARTERS.get(event.type)
            if starter is None:
                raise Unprocessable(f"no saga starts on {event.type}")
            saga, transition = starter.start(event.payload, _now())
            begun.setdefault(saga.saga_id, (saga, transition, captured(), current_traceparent()))
    added = uow.sagas.add_many((saga, traceparent) for saga, _transition, _context, traceparent in begun.values())
    started: list[SagaInstance] = []
    history: list[HistoryEntry] = []
    for saga, transition, context, _traceparent in begun.values():
        if saga.saga_id in added:
            saga.version = 1
            history.extend(transition.history)
            with within(context):
                _send(uow, saga, transition)
            started.append(saga)
    uow.sagas.record(history)
    return started


def apply_replies(uow: CoordinatorUnitOfWork, replies: list[Envelope[Any]], scope: Scope) -> None:
    """Feed a batch's replies to their sagas with one lock, one update and one history insert for them all.

    Replies are applied in order, so two replies to one saga in the same batch see each other's effect. A
    stale or duplicate reply is only recorded in the timeline; one without a known saga is ``Unprocessable``.
    A reply's own timeline entry names the participant instance that wrote it (``plumbing.senders.writer``,
    known inside the reply's scope).
    """
    sagas = uow.sagas.lock_many(reply.saga_id for reply in replies if reply.saga_id is not None)
    read_at = {saga_id: saga.version for saga_id, saga in sagas.items()}
    changed: dict[uuid.UUID, SagaInstance] = {}
    history: list[HistoryEntry] = []
    for reply in replies:
        with scope(reply):
            saga = _saga_for(reply, sagas)
            transition = _on_reply(saga, reply)
            if _changes_saga(transition):
                saga.version += 1
                changed[saga.saga_id] = saga
            history.extend(_written_by(writer(), reply, transition.history))
            _send(uow, saga, transition)
    uow.sagas.save_many((saga, read_at[saga.saga_id]) for saga in changed.values())
    uow.sagas.record(history)


def act_on_deadlines(units: UnitsOfWork[CoordinatorUnitOfWork], *, limit: int = 200) -> int:
    """In one transaction, re-send or give up on up to ``limit`` sagas whose reply is overdue; returns how many.

    Safe with several coordinators on one database: each sweep takes only sagas no other transaction holds
    (``Sagas.due``), so one deadline sends its command once. Every write is still a compare-and-set on the
    saga's version, as a reply's is.
    """
    with units.begin() as uow:
        due = uow.sagas.due(_now(), limit)
        for saga in due:
            with in_saga_trace(uow.sagas, saga, "deadline"):
                _save(uow, saga, SAGAS[saga.saga_type].on_deadline(saga, _now()))
    return len(due)


def replay(units: UnitsOfWork[CoordinatorUnitOfWork], saga_id: uuid.UUID, *, dry_run: bool, actor: str) -> Replay:
    """Re-send the saga's pending command with its original message id (so it is applied at most once), or
    resume its compensation; the timeline entries name ``actor``, who asked for it.

    A dry run computes the same in a read-only unit of work and sends nothing. Raises ``NotFound`` for an
    unknown saga and ``NotReplayable`` for a finished one. The saga is locked with a plain ``FOR UPDATE``:
    an operator's replay waits for a reply batch or a sweep holding the saga (it must not be skipped), then
    decides on the saga as they left it.
    """
    if dry_run:
        with units.read() as uow:
            return _resend(uow.sagas, saga_id, lock=False)[0]
    with units.begin() as uow:
        result, saga, transition = _resend(uow.sagas, saga_id, lock=True)
        transition.history = [replace(entry, actor=actor) for entry in transition.history]
        with in_saga_trace(uow.sagas, saga, "replay"):
            uow.sagas.save(saga)
            _publish(uow, saga, transition)
    return result


def _resend(sagas: Sagas, saga_id: uuid.UUID, *, lock: bool) -> tuple[Replay, SagaInstance, Transition]:
    saga = sagas.lock(saga_id) if lock else sagas.get(saga_id)
    if saga is None:
        raise NotFound(f"no saga {saga_id}")
    if saga.state in (SagaState.COMPLETED, SagaState.COMPENSATED):
        raise NotReplayable(f"saga {saga_id} is {saga.state.value}: nothing to replay")
    transition = SAGAS[saga.saga_type].resend(saga, _now())
    (command,) = transition.commands
    result = Replay(
        state=saga.state.value,
        action=saga.current_action or "",
        command=command.envelope.type,
        message_id=command.envelope.message_id,
        attempt=saga.attempts,
    )
    return result, saga, transition


def _saga_for(reply: Envelope[Any], sagas: dict[uuid.UUID, SagaInstance]) -> SagaInstance:
    if reply.saga_id is None:
        raise Unprocessable(f"{reply.type} carries no saga id")
    saga = sagas.get(reply.saga_id)
    if saga is None:
        raise Unprocessable(f"no saga {reply.saga_id}")
    return saga


def _written_by(instance: str | None, reply: Envelope[Any], entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The entries, the reply's own one naming the participant instance that wrote the reply."""
    return [replace(e, participant_instance=instance) if e.message_id == reply.message_id else e for e in entries]


def _on_reply(saga: SagaInstance, reply: Envelope[Any]) -> Transition:
    """The saga's transition for a reply (the saga is updated in memory), with the step's duration measured."""
    started, action, now = saga.step_started_at, saga.current_action, _now()
    transition = SAGAS[saga.saga_type].on_reply(saga, reply, now)
    time_step(saga, action, started, transition, now)
    return transition


def _save(uow: CoordinatorUnitOfWork, saga: SagaInstance, transition: Transition) -> None:
    """Write the saga if the transition changed it, then record and send the transition."""
    if _changes_saga(transition):
        uow.sagas.save(saga)
    _publish(uow, saga, transition)


def _publish(uow: CoordinatorUnitOfWork, saga: SagaInstance, transition: Transition) -> None:
    """Record a transition's timeline, count lifecycle events and queue its commands in the outbox."""
    uow.sagas.record(transition.history)
    _send(uow, saga, transition)


def _send(uow: CoordinatorUnitOfWork, saga: SagaInstance, transition: Transition) -> None:
    count_lifecycle(saga.saga_type, transition)
    for outgoing in transition.commands:
        uow.publish(outgoing.topic, outgoing.envelope, key=outgoing.key)


def _changes_saga(transition: Transition) -> bool:
    """Whether the saga row must be written (an ignored reply changes nothing but the timeline)."""
    return bool(transition.commands) or any(entry.kind != "reply_ignored" for entry in transition.history)


def _now() -> datetime:
    return datetime.now(UTC)
