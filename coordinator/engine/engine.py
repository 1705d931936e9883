"""The saga engine: given a saga and what just happened, decide its next state and the commands to send.

Pure functions of their inputs (the clock is passed in), so every path is testable without a broker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contracts.base import Message, message_type
from contracts.envelope import Envelope, wrap
from contracts.topics import Topic
from coordinator.engine.definition import Action, RetryPolicy, SagaDefinition, StepContext
from coordinator.engine.instance import HistoryEntry, SagaInstance, SagaState


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


def current_action(definition: SagaDefinition[Any], saga: SagaInstance) -> Action[Any] | None:
    """The action the saga is waiting on, or None when it is terminal."""
    if saga.state is SagaState.RUNNING:
        return definition.steps[saga.step_index].send
    if saga.state is SagaState.COMPENSATING:
        assert saga.undo_from is not None
        return definition.compensations(saga.undo_from)[saga.compensation_index]
    return None


def start(
    definition: SagaDefinition[Any], policy: RetryPolicy, saga_id: uuid.UUID, order_id: str, data: Any, now: datetime
) -> tuple[SagaInstance, Transition]:
    """A new saga, with its first command."""
    saga = SagaInstance(saga_id=saga_id, saga_type=definition.name, order_id=order_id, data=data)
    transition = Transition()
    _note(transition, saga, now, "state_changed", None, detail=f"started {definition.name}")
    _send(definition, policy, saga, transition, now)
    return saga, transition


def on_reply(
    definition: SagaDefinition[Any], policy: RetryPolicy, saga: SagaInstance, reply: Envelope[Any], now: datetime
) -> Transition:
    """Apply a participant's reply: advance, start rolling back, or ignore it as stale."""
    transition = Transition()
    action = current_action(definition, saga)
    payload: Message = reply.payload
    if action is None or reply.causation_id != saga.awaiting_message_id:
        _note(
            transition,
            saga,
            now,
            "reply_ignored",
            saga.current_action,
            reply,
            detail="not awaited (stale or duplicate)",
        )
        return transition
    if isinstance(payload, action.done):
        _note(transition, saga, now, "reply_received", action.name, reply)
        if action.record is not None:
            saga.data = action.record(saga.data, payload)
        _advance(definition, policy, saga, transition, now)
    elif saga.state is SagaState.RUNNING and isinstance(payload, action.failed):
        reason = str(getattr(payload, "reason", message_type(payload)))
        _note(transition, saga, now, "reply_received", action.name, reply, detail=reason)
        _roll_back(definition, policy, saga, transition, now, reason, undo_from=saga.step_index)
    else:
        _note(transition, saga, now, "reply_ignored", action.name, reply, detail="unexpected reply type")
    return transition


def on_deadline(definition: SagaDefinition[Any], policy: RetryPolicy, saga: SagaInstance, now: datetime) -> Transition:
    """The awaited reply is late: re-send the same command, or give up on the step once attempts run out.

    Giving up before the pivot rolls back, including the timed-out step itself (it may have happened;
    every undo is a no-op when there is nothing to undo). After the pivot the saga cannot roll back, and
    a compensation cannot be skipped: the saga is marked stuck (or FAILED) for an operator to replay.
    """
    transition = Transition()
    action = current_action(definition, saga)
    if action is None or saga.deadline_at is None or saga.deadline_at > now:
        return transition
    _note(transition, saga, now, "timed_out", action.name, attempt=saga.attempts)
    saga.overdue_since = saga.overdue_since or saga.deadline_at
    if saga.attempts < policy.max_attempts:
        _send(definition, policy, saga, transition, now, attempt=saga.attempts + 1)
        return transition
    reason = f"{action.name} got no reply after {saga.attempts} attempts"
    if saga.state is SagaState.RUNNING and saga.step_index <= definition.pivot_index():
        _roll_back(definition, policy, saga, transition, now, reason, undo_from=saga.step_index + 1)
    elif saga.state is SagaState.COMPENSATING:
        saga.failure_reason = f"{saga.failure_reason}; then {reason}" if saga.failure_reason else reason
        _finish(saga, transition, now, SagaState.FAILED)
    else:
        saga.stuck_reason = reason
        saga.deadline_at = None
        _note(transition, saga, now, "state_changed", action.name, detail=f"stuck: {reason}")
    return transition


def resend(definition: SagaDefinition[Any], policy: RetryPolicy, saga: SagaInstance, now: datetime) -> Transition:
    """Operator replay: send the awaited command again (same message id and idempotency key).

    A FAILED saga resumes the compensation that gave up; COMPLETED and COMPENSATED ones send nothing.
    """
    transition = Transition()
    if saga.state is SagaState.FAILED and saga.undo_from is not None:
        saga.state = SagaState.COMPENSATING
        _note(transition, saga, now, "state_changed", None, detail="compensation resumed by operator")
    if current_action(definition, saga) is None:
        return transition
    saga.stuck_reason = None
    _send(definition, policy, saga, transition, now, attempt=saga.attempts + 1, detail="replayed by operator")
    return transition


def _advance(
    definition: SagaDefinition[Any], policy: RetryPolicy, saga: SagaInstance, transition: Transition, now: datetime
) -> None:
    if saga.state is SagaState.RUNNING:
        saga.step_index += 1
        if saga.step_index == len(definition.steps):
            _finish(saga, transition, now, SagaState.COMPLETED)
            return
    else:
        assert saga.undo_from is not None
        saga.compensation_index += 1
        if saga.compensation_index == len(definition.compensations(saga.undo_from)):
            _finish(saga, transition, now, SagaState.COMPENSATED)
            return
    _send(definition, policy, saga, transition, now)


def _roll_back(
    definition: SagaDefinition[Any],
    policy: RetryPolicy,
    saga: SagaInstance,
    transition: Transition,
    now: datetime,
    reason: str,
    *,
    undo_from: int,
) -> None:
    saga.failure_reason = reason
    saga.state = SagaState.COMPENSATING
    saga.undo_from = undo_from
    saga.compensation_index = 0
    _note(transition, saga, now, "state_changed", None, detail=f"compensating: {reason}")
    if not definition.compensations(undo_from):
        _finish(saga, transition, now, SagaState.COMPENSATED)
        return
    _send(definition, policy, saga, transition, now)


def _finish(saga: SagaInstance, transition: Transition, now: datetime, state: SagaState) -> None:
    saga.state = state
    saga.current_action = None
    saga.awaiting_message_id = None
    saga.deadline_at = None
    saga.overdue_since = None
    saga.stuck_reason = None
    _note(transition, saga, now, "state_changed", None, detail=state.value)


def _send(
    definition: SagaDefinition[Any],
    policy: RetryPolicy,
    saga: SagaInstance,
    transition: Transition,
    now: datetime,
    *,
    attempt: int = 1,
    detail: str | None = None,
) -> None:
    action = current_action(definition, saga)
    assert action is not None
    context = StepContext(saga.saga_id, action.name, saga.data, saga.failure_reason)
    envelope = wrap(
        action.build(context),
        correlation_id=saga.order_id,
        saga_id=saga.saga_id,
        message_id=command_id(saga.saga_id, action.name),
    )
    if attempt == 1:
        saga.overdue_since = None
        saga.step_started_at = now
    saga.current_action = action.name
    saga.awaiting_message_id = envelope.message_id
    saga.attempts = attempt
    saga.deadline_at = now + timedelta(seconds=_timeout(policy, attempt))
    transition.commands.append(Outgoing(action.to, str(saga.saga_id), envelope))
    _note(transition, saga, now, "command_sent", action.name, envelope, attempt=attempt, detail=detail)


def _timeout(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff between attempts, capped."""
    return float(min(policy.reply_timeout_s * 2 ** (attempt - 1), policy.backoff_max_s))


def _note(
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
