"""Orders' message handlers, routed as the consumer routes them, against fakes."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.envelope import Envelope, wrap
from contracts.orders import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from contracts.topics import ORDERS_COMMANDS, PRODUCT_EVENTS, SAGA_REPLIES
from orders.domain.orders import OrderStatus
from orders.entrypoints.messages import ROUTES
from plumbing.errors import Unprocessable
from plumbing.routing import single
from plumbing.unit_of_work import reply_id
from tests.unit.fakes import command
from tests.unit.orders.fakes import FakeOrdersUnitOfWork, pending, product


def apply(uow: FakeOrdersUnitOfWork, topic: str, envelope: Envelope[Any]) -> None:
    single(ROUTES[topic][envelope.type])(uow, envelope)


def test_approve_order_replies_to_its_command() -> None:
    uow = FakeOrdersUnitOfWork()
    pending(uow)
    approve = command(ApproveOrder(order_id="o-1"))
    apply(uow, ORDERS_COMMANDS.name, approve)
    assert uow.orders.rows["o-1"].status is OrderStatus.APPROVED
    (sent,) = uow.sent
    assert (sent.topic, sent.key) == (SAGA_REPLIES.name, str(approve.saga_id))
    reply = sent.envelope
    assert reply.payload == OrderApproved(order_id="o-1")
    assert (reply.message_id, reply.causation_id) == (reply_id(approve.message_id), approve.message_id)
    assert (reply.saga_id, reply.correlation_id) == (approve.saga_id, "o-1")


def test_reject_order_replies_order_rejected() -> None:
    uow = FakeOrdersUnitOfWork()
    pending(uow)
    reject = command(RejectOrder(order_id="o-1", reason="payment declined"))
    apply(uow, ORDERS_COMMANDS.name, reject)
    assert (uow.orders.rows["o-1"].status, uow.orders.rows["o-1"].reason) == (OrderStatus.REJECTED, "payment declined")
    assert uow.replies == [OrderRejected(order_id="o-1")]
    assert [s.envelope.causation_id for s in uow.sent] == [reject.message_id]


def test_a_command_for_an_unknown_order_is_unprocessable_and_sends_nothing() -> None:
    uow = FakeOrdersUnitOfWork()
    with pytest.raises(Unprocessable, match=r"^no order o-9$"):
        apply(uow, ORDERS_COMMANDS.name, command(ApproveOrder(order_id="o-9")))
    assert uow.sent == []


def test_product_changed_updates_the_product_view_and_sends_nothing() -> None:
    uow = FakeOrdersUnitOfWork()
    event = product("SNES-CHRONO", price_cents=5999, stock=3, revision=4)
    apply(uow, PRODUCT_EVENTS.name, wrap(event, correlation_id=event.sku))
    assert uow.product_view.rows == {"SNES-CHRONO": event}
    assert uow.sent == []


def test_orders_routes_exactly_its_commands_and_the_product_events() -> None:
    assert {topic: set(types) for topic, types in ROUTES.items()} == {
        ORDERS_COMMANDS.name: {"ApproveOrder", "RejectOrder"},
        PRODUCT_EVENTS.name: {"ProductChanged"},
    }
