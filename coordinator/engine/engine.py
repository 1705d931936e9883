"""The saga engine: given a saga and what just happened, decide its next state and the commands to send.

Pure functions of their inputs (the clock is passed in), so every path is testable without a broker.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contracts.base import Message, message_type
from contracts.envelope import Envelope, wrap
from contracts.failures import CommandFailed
from coordinator.engine.definition import Action, RetryPolicy, SagaDefinition, StepContext
from coordinator.engine.instance import SagaInstance, SagaState
from coordinator.engine.transition import Outgoing, Transition, command_id, note

__all__ = ["Outgoing", "Transition", "command_id", "current_action", "on_deadline", "on_reply", "resend", "start"]


def current_action(definition: SagaDefinition[Any], saga: SagaInstance) -> Action[Any] | None:
    """The action the saga waits on, or None once it is COMPLETED or COMPENSATED.

    A FAILED saga still names the action it failed on: its late reply, or an operator's replay, resumes it there.
    """
    if saga.state in (SagaState.COMPLETED, SagaState.COMPENSATED):
        return None
    if saga.undo_from is None:
        return definition.steps[saga.step_index].send if saga.step_index < len(definition.steps) else None
    plan = definition.compensations(saga.undo_from)
    return plan[saga.compensation_index] if saga.compensation_index < len(plan) else None


def start(
    definition: SagaDefinition[Any], policy: RetryPolicy, saga_id: uuid.UUID, order_id: str, data: Any, now: datetime
) -> tuple[SagaInstance, Transition]:
    """A new saga, with its first command."""
    saga = SagaInstance(saga_id=saga_id, saga_type=definition.name, order_id=order_id, data=data)
    transition = Transition()
    note(transition, saga, now, "state_changed", None, detail=f"started {definition.name}")
    _send(definition, policy, saga, transition, now)
    return saga, transition


def on_reply(
    definition: SagaDefinition[Any], policy: RetryPolicy, saga: SagaInstance, reply: Envelope[Any], now: datetime
) -> Transition:
    """Apply a participant's reply: advance, roll back, fail, resume, or ignore it as stale.

    ``CommandFailed`` (the participant dead-lettered the command) rolls back a step up to the pivot, undoing
    that step too (it may have partly happened; every undo is a no-op when there is nothing to undo), and
    fails a saga after its pivot or in a compensation: it cannot finish on its own. A FAILED saga that gets
    the confirmation it was waiting for carries on from there.
    """
    transition = Transition()
    action = current_action(definition, saga)
    payload: Message = reply.payload
    # Sagas an older coordinator left FAILED await nothing; the command they wait on is still known.
    awaited = saga.awaiting_message_id or (command_id(saga.saga_id, action.name) if action else None)
    if action is None or reply.causation_id != awaited:
        detail = "not awaited (stale or duplicate)"
        note(transition, saga, now, "reply_ignored", saga.current_action, reply, detail=detail)
    elif isinstance(payload, action.done):
        if saga.state is SagaState.FAILED:
            _resume(saga, transition, now, f"by {action.name}'s late confirmation")
        note(transition, saga, now, "reply_received", action.name, reply)
        if action.record is not None:
            saga.data = action.record(saga.data, payload)
        _advance(definition, policy, saga, transition, now)
    elif saga.state is SagaState.FAILED:
        note(transition, saga, now, "reply_ignored", action.name, reply, detail="FAILED: only a confirmation resumes")
    elif isinstance(payload, CommandFailed):
        reason = f"{action.name} failed: {payload.reason}"
        note(transition, saga, now, "reply_received", action.name, reply, detail=reason)
        _give_up(definition, policy, saga, transition, now, reason)
    elif saga.state is SagaState.RUNNING and isinstance(payload, action.failed):
        reason = str(getattr(payload, "reason", message_type(payload)))
        note(transition, saga, now, "reply_received", action.name, reply, detail=reason)
        _roll_back(definition, policy, saga, transition, now, reason, undo_from=saga.step_index)
    else:
        note(transition, saga, now, "reply_ignored", action.name, reply, detail="unexpected reply type")
    return transition


def on_deadline(definition: SagaDefinition[Any], policy: RetryPolicy, saga: SagaInstance, now: datetime) -> Transition:
    """The awaited reply is late: re-send the same command, or give up once the action's budget is spent.

    Each action waits as its ``Patience`` in ``policy`` says; one without a budget is re-sent until its
    participant answers. Giving up before the pivot rolls back, including the timed-out step itself (it may
    have happened; every undo is a no-op when there is nothing to undo); a compensation or a step after the
    pivot that gives up ends FAILED, for an operator to replay.
    """
    transition = Transition()
    action = current_action(definition, saga)
    if action is None or saga.state.terminal or saga.deadline_at is None or saga.deadline_at > now:
        return transition
    note(transition, saga, now, "timed_out", action.name, attempt=saga.attempts)
    saga.overdue_since = saga.overdue_since or saga.deadline_at
    patience = policy.patience(action.name)
    gives_up_at = patience.gives_up_at(saga.step_started_at or saga.deadline_at)
    if gives_up_at is None or now < gives_up_at:
        _send(definition, policy, saga, transition, now, attempt=saga.attempts + 1)
        return transition
    reason = f"{action.name} got no reply in {patience.budget_s:g} s ({saga.attempts} attempts)"
    _give_up(definition, policy, saga, transition, now, reason)
    return transition


def resend(definition: SagaDefinition[Any], policy: RetryPolicy, saga: SagaInstance, now: datetime) -> Transition:
    """Operator replay: send the awaited command again (same message id and idempotency key).

    A FAILED saga resumes where it failed; COMPLETED and COMPENSATED ones send nothing. A step whose budget
    is spent gets a fresh one (the operator asked for another try).
    """
    transition = Transition()
    action = current_action(definition, saga)
    if action is None:
        return transition
    if saga.state is SagaState.FAILED:
        _resume(saga, transition, now, "by operator")
    gives_up_at = policy.patience(action.name).gives_up_at(saga.step_started_at or now)
    if gives_up_at is not None and gives_up_at <= now:
        saga.step_started_at = now
    saga.stuck_reason = None
    _send(definition, policy, saga, transition, now, attempt=saga.attempts + 1, detail="replayed by operator")
    return transition


def _give_up(
    definition: SagaDefinition[Any],
    policy: RetryPolicy,
    saga: SagaInstance,
    transition: Transition,
    now: datetime,
    reason: str,
) -> None:
    """No answer will come for the current action: roll back up to the pivot (undoing that step too: it may
    have partly happened), else fail for an operator to replay."""
    if saga.state is SagaState.RUNNING and saga.step_index <= definition.pivot_index():
        _roll_back(definition, policy, saga, transition, now, reason, undo_from=saga.step_index + 1)
    else:
        _fail(saga, transition, now, reason)


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
    note(transition, saga, now, "state_changed", None, detail=f"compensating: {reason}")
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
    note(transition, saga, now, "state_changed", None, detail=state.value)


def _fail(saga: SagaInstance, transition: Transition, now: datetime, reason: str) -> None:
    """FAILED, still naming the action it waits on: a late confirmation or a replay resumes it there."""
    saga.failure_reason = f"{saga.failure_reason}; then {reason}" if saga.failure_reason else reason
    saga.state = SagaState.FAILED
    saga.deadline_at = None
    saga.overdue_since = None
    saga.stuck_reason = None
    note(transition, saga, now, "state_changed", saga.current_action, detail=SagaState.FAILED.value)


def _resume(saga: SagaInstance, transition: Transition, now: datetime, by: str) -> None:
    compensating = saga.undo_from is not None
    saga.state = SagaState.COMPENSATING if compensating else SagaState.RUNNING
    what = "compensation resumed" if compensating else "resumed"
    note(transition, saga, now, "state_changed", saga.current_action, detail=f"{what} {by}")


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
    saga.deadline_at = policy.patience(action.name).deadline(saga.step_started_at or now, now, attempt)
    transition.commands.append(Outgoing(action.to, str(saga.saga_id), envelope))
    note(transition, saga, now, "command_sent", action.name, envelope, attempt=attempt, detail=detail)
