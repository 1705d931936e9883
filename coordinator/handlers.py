"""Coordinator's handlers: start a saga for each placed order, apply replies, act on missed deadlines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec

from contracts.base import union_types
from contracts.codecs import SagaReply
from contracts.envelope import Envelope
from contracts.orders import OrderPlaced
from contracts.topics import ORDER_EVENTS, SAGA_REPLIES
from coordinator.adapters.saga_store import SagaStore
from coordinator.engine import engine
from coordinator.engine.engine import Transition
from coordinator.engine.instance import HistoryEntry, SagaInstance
from coordinator.sagas import SAGAS
from coordinator.sagas.create_order import CREATE_ORDER, OrderSagaData
from plumbing.consumer import Batched, Routes, Scope
from plumbing.errors import Unprocessable
from plumbing.logs import about
from plumbing.metrics import SAGA_EVENTS, STEP_SECONDS
from plumbing.tracing import resumed
from plumbing.unit_of_work import UnitOfWork

_SAGA_NAMESPACE = uuid.UUID("0b5f3c1e-2d4a-4c8e-9f60-7a1b2c3d4e5f")


def saga_id_for(saga_type: str, order_id: str) -> uuid.UUID:
    """A saga's id follows from its order, so a redelivered OrderPlaced cannot start a second saga."""
    return uuid.uuid5(_SAGA_NAMESPACE, f"{saga_type}:{order_id}")


def publish_transition(uow: UnitOfWork, store: SagaStore, saga: SagaInstance, transition: Transition) -> None:
    """Record a transition's timeline, count lifecycle events and queue its commands in the outbox."""
    store.record(transition.history)
    _emit(uow, saga, transition)


def _emit(uow: UnitOfWork, saga: SagaInstance, transition: Transition) -> None:
    count_lifecycle(saga.saga_type, transition)
    for outgoing in transition.commands:
        uow.publish(outgoing.topic, outgoing.envelope, key=outgoing.key)


def start_create_order(uow: UnitOfWork, event: Envelope[OrderPlaced]) -> None:
    """Start the CreateOrder saga for a placed order and send its first command."""
    placed = event.payload
    data = msgspec.convert(msgspec.to_builtins(placed), OrderSagaData)
    registered = SAGAS[CREATE_ORDER.name]
    saga_id = saga_id_for(CREATE_ORDER.name, placed.order_id)
    saga, transition = engine.start(registered.definition, registered.retry, saga_id, placed.order_id, data, _now())
    store = SagaStore(uow.conn)
    if store.add(saga):
        publish_transition(uow, store, saga, transition)


def apply_replies(uow: UnitOfWork, replies: list[Envelope[Any]], scope: Scope) -> None:
    """Feed a batch's replies to their sagas with one lock, one update and one history insert for them all.

    Replies are applied in order, so two replies to one saga in the same batch see each other's effect.
    """
    store = SagaStore(uow.conn)
    sagas = store.lock_many(reply.saga_id for reply in replies if reply.saga_id is not None)
    read_at = {saga_id: saga.version for saga_id, saga in sagas.items()}
    changed: dict[uuid.UUID, SagaInstance] = {}
    history: list[HistoryEntry] = []
    for reply in replies:
        with scope(reply):
            saga = _saga_for(reply, sagas)
            transition = _advance(saga, reply)
            if _changes_saga(transition):
                saga.version += 1
                changed[saga.saga_id] = saga
            history.extend(transition.history)
            _emit(uow, saga, transition)
    store.save_many((saga, read_at[saga.saga_id]) for saga in changed.values())
    store.record(history)


def _saga_for(reply: Envelope[Any], sagas: dict[uuid.UUID, SagaInstance]) -> SagaInstance:
    if reply.saga_id is None:
        raise Unprocessable(f"{reply.type} carries no saga id")
    saga = sagas.get(reply.saga_id)
    if saga is None:
        raise Unprocessable(f"no saga {reply.saga_id}")
    return saga


def _advance(saga: SagaInstance, reply: Envelope[Any]) -> Transition:
    """The saga's transition for a reply (the saga is updated in memory), with the step's duration measured."""
    registered = SAGAS[saga.saga_type]
    started, action, now = saga.step_started_at, saga.current_action, _now()
    transition = engine.on_reply(registered.definition, registered.retry, saga, reply, now)
    settled = [entry for entry in transition.history if entry.kind == "reply_received"]
    if settled and started is not None and action is not None:
        outcome = "done" if settled[0].detail is None else "failed"
        STEP_SECONDS.labels(saga.saga_type, action, outcome).observe((now - started).total_seconds())
    return transition


def act_on_deadlines(uow: UnitOfWork, *, limit: int = 200) -> int:
    """Re-send or give up on every saga whose reply is overdue; returns how many were handled."""
    store = SagaStore(uow.conn)
    due = store.due(_now(), limit)
    for saga in due:
        registered = SAGAS[saga.saga_type]
        with in_saga_trace(store, saga, "deadline"):
            _save(uow, store, saga, engine.on_deadline(registered.definition, registered.retry, saga, _now()))
    return len(due)


@contextmanager
def in_saga_trace(store: SagaStore, saga: SagaInstance, what: str) -> Iterator[None]:
    """Work on a saga outside any message (a deadline, a replay), traced as part of its order's trace."""
    attributes = {"retrovault.saga_id": str(saga.saga_id), "retrovault.order_id": saga.order_id}
    with (
        resumed(store.trace_context(saga.saga_id), f"{what} {saga.current_action}", attributes),
        about(order_id=saga.order_id, saga_id=saga.saga_id),
    ):
        yield


def _save(uow: UnitOfWork, store: SagaStore, saga: SagaInstance, transition: Transition) -> None:
    if _changes_saga(transition):
        store.save(saga)
    publish_transition(uow, store, saga, transition)


def _changes_saga(transition: Transition) -> bool:
    """Whether the saga row must be written (an ignored reply changes nothing but the timeline)."""
    return bool(transition.commands) or any(entry.kind != "reply_ignored" for entry in transition.history)


_LIFECYCLE = {"COMPLETED": "completed", "COMPENSATED": "compensated", "FAILED": "failed"}


def count_lifecycle(saga_type: str, transition: Transition) -> None:
    """Count sagas started and finished, from the transition's state changes."""
    for entry in transition.history:
        if entry.kind != "state_changed" or entry.detail is None:
            continue
        event = "started" if entry.detail.startswith("started ") else _LIFECYCLE.get(entry.detail)
        if event is not None:
            SAGA_EVENTS.labels(saga_type, event).inc()


def _now() -> datetime:
    return datetime.now(UTC)


REPLIES = Batched(many=apply_replies)

ROUTES: Routes = {
    ORDER_EVENTS.name: {"OrderPlaced": start_create_order},
    SAGA_REPLIES.name: {reply_type: REPLIES for reply_type in union_types(SagaReply)},
}
