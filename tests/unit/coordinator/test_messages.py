"""The coordinator's message handlers, routed as the consumer routes them, against fakes."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from typing import Any

from contracts.catalog import ReserveStock, StockReserved
from contracts.envelope import Envelope
from contracts.payment import ChargePayment
from contracts.topics import CATALOG_COMMANDS, ORDER_EVENTS, PAYMENT_COMMANDS, SAGA_REPLIES
from coordinator.entrypoints.messages import REPLIES, ROUTES, STARTS
from coordinator.sagas import saga_id_for
from plumbing.routing import Batched, single
from tests.samples import placed
from tests.unit.coordinator.fakes import FakeCoordinatorUnitOfWork, reply_to

REPLY_TYPES = {
    "CommandFailed",
    "StockReserved",
    "StockUnavailable",
    "StockReleased",
    "PaymentSucceeded",
    "PaymentDeclined",
    "PaymentRefunded",
    "OrderApproved",
    "OrderRejected",
}


def start(uow: FakeCoordinatorUnitOfWork, order_id: str) -> uuid.UUID:
    single(ROUTES[ORDER_EVENTS.name]["OrderPlaced"])(uow, placed(order_id))
    return saga_id_for("create_order", order_id)


def test_a_placed_order_starts_its_saga_once() -> None:
    uow = FakeCoordinatorUnitOfWork()
    event = placed("o1")
    handler = single(ROUTES[ORDER_EVENTS.name]["OrderPlaced"])
    handler(uow, event)
    handler(uow, event)
    assert list(uow.sagas.rows) == [saga_id_for("create_order", "o1")]
    assert [type(p) for p in uow.payloads(CATALOG_COMMANDS)] == [ReserveStock]


def test_every_reply_type_goes_to_the_one_batched_handler() -> None:
    replies = ROUTES[SAGA_REPLIES.name]
    assert set(replies) == REPLY_TYPES
    assert isinstance(REPLIES, Batched)
    assert all(handler is REPLIES for handler in replies.values())


def test_the_batched_handler_applies_a_batch_each_reply_in_its_scope() -> None:
    uow = FakeCoordinatorUnitOfWork()
    first, second = start(uow, "o1"), start(uow, "o2")
    batch = [reply_to(uow.sagas.rows[s], StockReserved(order_id=o)) for s, o in ((first, "o1"), (second, "o2"))]
    entered: list[uuid.UUID] = []

    def scope(envelope: Envelope[Any]) -> nullcontext[None]:
        entered.append(envelope.message_id)
        return nullcontext()

    uow.sagas.calls.clear()
    REPLIES.many(uow, batch, scope)

    assert entered == [reply.message_id for reply in batch]
    assert uow.sagas.calls == ["lock_many", "save_many", "record"]
    assert [p.order_id for p in uow.payloads(PAYMENT_COMMANDS)] == ["o1", "o2"]
    assert all(isinstance(p, ChargePayment) for p in uow.payloads(PAYMENT_COMMANDS))


def test_a_batch_of_placed_orders_starts_each_saga_once_with_one_insert_each_in_its_scope() -> None:
    uow = FakeCoordinatorUnitOfWork()
    start(uow, "o0")  # already started: its redelivery in the batch sends nothing
    batch = [placed("o1"), placed("o0"), placed("o2"), placed("o1")]
    entered: list[uuid.UUID] = []

    def scope(envelope: Envelope[Any]) -> nullcontext[None]:
        entered.append(envelope.message_id)
        return nullcontext()

    uow.sagas.calls.clear()
    assert isinstance(ROUTES[ORDER_EVENTS.name]["OrderPlaced"], Batched)
    STARTS.many(uow, batch, scope)

    assert uow.sagas.calls == ["add_many", "record"]
    assert [p.order_id for p in uow.payloads(CATALOG_COMMANDS)] == ["o0", "o1", "o2"]
    assert entered == [event.message_id for event in batch]  # each event's span and log context, once
    started = {s: uow.sagas.rows[saga_id_for("create_order", s)] for s in ("o1", "o2")}
    assert all(saga.version == 1 and saga.current_action == "reserve_stock" for saga in started.values())
    timelines = {entry.saga_id for entry in uow.sagas.history}
    assert timelines == {saga_id_for("create_order", s) for s in ("o0", "o1", "o2")}


def test_a_reply_on_its_own_is_applied_alone() -> None:
    uow = FakeCoordinatorUnitOfWork()
    saga_id = start(uow, "o1")
    single(ROUTES[SAGA_REPLIES.name]["StockReserved"])(
        uow, reply_to(uow.sagas.rows[saga_id], StockReserved(order_id="o1"))
    )
    assert uow.sagas.rows[saga_id].current_action == "charge_payment"
    assert [type(p) for p in uow.payloads(PAYMENT_COMMANDS)] == [ChargePayment]


def test_the_coordinator_routes_exactly_placed_orders_and_replies() -> None:
    assert {topic: set(types) for topic, types in ROUTES.items()} == {
        ORDER_EVENTS.name: {"OrderPlaced"},
        SAGA_REPLIES.name: REPLY_TYPES,
    }
