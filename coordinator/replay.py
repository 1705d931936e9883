"""Operator replay: push a stuck (or failed) saga on by re-sending its pending command."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from coordinator.adapters.saga_store import SagaStore
from coordinator.engine import engine
from coordinator.engine.engine import Transition
from coordinator.engine.instance import SagaInstance, SagaState
from coordinator.handlers import in_saga_trace, publish_transition
from coordinator.sagas import SAGAS
from plumbing.unit_of_work import Transactions


class NotReplayable(Exception):
    """The saga has finished (COMPLETED or COMPENSATED): there is nothing to re-send."""


@dataclass(frozen=True)
class Replay:
    """What was (or would be) sent."""

    state: str
    action: str
    command: str
    message_id: uuid.UUID
    attempt: int


def replay(transactions: Transactions, saga_id: uuid.UUID, *, dry_run: bool) -> Replay:
    """Re-send the pending command with its original message id (so it is applied at most once).

    A dry run computes the same on a read-only connection and sends nothing. Raises LookupError for an
    unknown saga and ``NotReplayable`` for a finished one.
    """
    if dry_run:
        with transactions.engine.connect() as conn:
            return _resend(SagaStore(conn), saga_id)[0]
    with transactions.begin() as uow:
        store = SagaStore(uow.conn)
        result, saga, transition = _resend(store, saga_id, lock=True)
        with in_saga_trace(store, saga, "replay"):
            store.save(saga)
            publish_transition(uow, store, saga, transition)
    return result


def _resend(store: SagaStore, saga_id: uuid.UUID, *, lock: bool = False) -> tuple[Replay, SagaInstance, Transition]:
    saga = store.get(saga_id, for_update=lock)
    if saga is None:
        raise LookupError(f"no saga {saga_id}")
    if saga.state in (SagaState.COMPLETED, SagaState.COMPENSATED):
        raise NotReplayable(f"saga {saga_id} is {saga.state.value}: nothing to replay")
    registered = SAGAS[saga.saga_type]
    transition = engine.resend(registered.definition, registered.retry, saga, datetime.now(UTC))
    (command,) = transition.commands
    result = Replay(
        state=saga.state.value,
        action=saga.current_action or "",
        command=command.envelope.type,
        message_id=command.envelope.message_id,
        attempt=saga.attempts,
    )
    return result, saga, transition
