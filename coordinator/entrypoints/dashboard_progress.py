"""The dashboard's view of where a saga stands in its steps and in its compensations, derived from its timeline.

The timeline (``saga_history``) says which commands were sent, how often, and which replies came back;
the saga's definition says which steps and compensations there are. Compensation starts at the
``state_changed`` entry whose detail begins with ``compensating:``; as in the engine, a step that was
refused is not undone, while one that got no reply or whose participant gave up on it (``CommandFailed``) is
(it may have happened).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.base import wire_type
from contracts.failures import CommandFailed
from coordinator.adapters.saga_queries import HistoryView, SagaView
from coordinator.engine.definition import Action, SagaDefinition
from coordinator.sagas import SAGAS

_TERMINAL = ("COMPLETED", "COMPENSATED", "FAILED")
_GAVE_UP = wire_type(CommandFailed)


@dataclass(frozen=True)
class ActionProgress:
    """One action's standing: ``done``, ``refused``, ``failed`` (its participant gave up on it), ``waiting``,
    ``no-reply``, ``remaining`` or ``skipped``."""

    action: str
    status: str
    attempts: int
    at: datetime | None
    detail: str | None


@dataclass(frozen=True)
class Progress:
    """The forward steps and, once the saga rolls back (``rolled_back``), its compensation plan."""

    steps: list[ActionProgress]
    rolled_back: bool
    compensations: list[ActionProgress]

    @property
    def compensations_done(self) -> int:
        """How many compensations are confirmed."""
        return sum(1 for c in self.compensations if c.status == "done")


def _tag(message: type[Any]) -> str:
    return str(message.__struct_config__.tag)


def _standing(
    name: str, entries: Sequence[HistoryView], done: str | None, *, awaited: bool, later: str
) -> ActionProgress:
    mine = [e for e in entries if e.action == name]
    sent = [e for e in mine if e.kind == "command_sent"]
    replies = [e for e in mine if e.kind == "reply_received"]
    attempts = max((e.attempt or 1 for e in sent), default=0)
    if replies:
        reply = replies[-1]
        confirmed = reply.message_type == done if done is not None else reply.detail is None
        said = f"{reply.message_type}" + (f": {reply.detail}" if reply.detail else "")
        status = "done" if confirmed else "failed" if reply.message_type == _GAVE_UP else "refused"
        return ActionProgress(name, status, attempts, reply.at, said)
    if sent:
        timeouts = sum(1 for e in mine if e.kind == "timed_out")
        late = f"timed out {timeouts}x" if timeouts else None
        return ActionProgress(name, "waiting" if awaited else "no-reply", attempts, sent[-1].at, late)
    return ActionProgress(name, later, 0, None, None)


def _split(history: Sequence[HistoryView]) -> tuple[list[HistoryView], list[HistoryView] | None]:
    for i, entry in enumerate(history):
        if entry.kind == "state_changed" and (entry.detail or "").startswith("compensating:"):
            return list(history[:i]), list(history[i:])
    return list(history), None


def _sent_order(entries: Sequence[HistoryView]) -> list[str]:
    return list(dict.fromkeys(e.action for e in entries if e.kind == "command_sent" and e.action))


def _plan(definition: SagaDefinition[Any] | None, steps: list[ActionProgress]) -> list[str]:
    """The compensations the engine runs: undo every step reached, except one that was refused."""
    if definition is None:
        return []
    reached = [i for i, step in enumerate(steps) if step.status not in ("remaining", "skipped")]
    if not reached:
        return []
    last = reached[-1]
    undo_from = last if steps[last].status == "refused" else last + 1
    return [action.name for action in definition.compensations(undo_from)]


def progress(view: SagaView) -> Progress:
    """The saga's steps and compensations with their standing, from its history."""
    registered = SAGAS.get(view.saga_type)
    definition = registered.definition if registered else None
    forward, backward = _split(view.history)
    running = view.state == "RUNNING"
    actions: dict[str, Action[Any]] = {a.name: a for a in definition.actions()} if definition else {}
    step_names = [s.send.name for s in definition.steps] if definition else _sent_order(forward)
    steps = [
        _standing(
            name,
            forward,
            _tag(actions[name].done) if name in actions else None,
            awaited=running and view.current_step == name,
            later="remaining" if running else "skipped",
        )
        for name in step_names
    ]
    if backward is None:
        return Progress(steps, rolled_back=False, compensations=[])
    names = _plan(definition, steps)
    names += [n for n in _sent_order(backward) if n not in names]
    compensating = view.state not in _TERMINAL
    compensations = [
        _standing(
            name,
            backward,
            _tag(actions[name].done) if name in actions else None,
            awaited=compensating and view.current_step == name,
            later="remaining",
        )
        for name in names
    ]
    return Progress(steps, rolled_back=True, compensations=compensations)
