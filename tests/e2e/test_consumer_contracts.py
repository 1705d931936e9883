"""Consumer-driven contracts: what the coordinator sends and expects back, checked against each
participant's real handler and real database (no Kafka). Likewise orders' use of catalog's product events.

The expectations are not written by hand: they come from the saga table itself (each action's command
builder, its ``done`` reply and its ``failed`` replies).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from catalog import services as catalog_services
from catalog.adapters.tables import inbox as catalog_inbox
from catalog.adapters.tables import outbox as catalog_outbox
from catalog.adapters.unit_of_work import SqlCatalogUnitOfWork
from catalog.entrypoints.messages import ROUTES as CATALOG_ROUTES
from contracts.base import PricedLine
from contracts.codecs import codec_for
from contracts.envelope import Envelope, wrap
from contracts.topics import PRODUCT_EVENTS, SAGA_REPLIES
from coordinator.engine.definition import Action, StepContext
from coordinator.sagas.create_order import (
    CREATE_ORDER,
    OrderSagaData,
    approve_order,
    charge_payment,
    refund_payment,
    reject_order,
    release_stock,
    reserve_stock,
)
from orders import services as orders_services
from orders.adapters.tables import outbox as orders_outbox
from orders.adapters.unit_of_work import SqlOrdersUnitOfWork
from orders.entrypoints.messages import ROUTES as ORDERS_ROUTES
from payment.adapters.payment_store import PaymentStore
from payment.adapters.simulated_gateway import SimulatedGateway
from payment.adapters.tables import outbox as payment_outbox
from payment.adapters.unit_of_work import unit_factory
from payment.entrypoints.messages import ROUTES as PAYMENT_ROUTES
from plumbing.batches import BatchApplier, ConsumerStats, Limits
from plumbing.inbox import Inbox
from plumbing.routing import Routes, single
from plumbing.unit_of_work import UnitOfWork
from tests.support import Joined, database, rolled_back
from tests.unit.plumbing.fakes import kafka_message


def _data(sku: str = "NES-SMB3", quantity: int = 1, method: str = "pm_card_visa") -> OrderSagaData:
    return OrderSagaData(
        order_id=str(uuid.uuid4()),
        customer_id="contract",
        lines=[PricedLine(sku=sku, quantity=quantity, unit_price_cents=4999)],
        total_cents=4999 * quantity,
        currency="usd",
        payment_method=method,
    )


def _command(action: Action[OrderSagaData], data: OrderSagaData, reason: str | None = None) -> Envelope[Any]:
    """The command exactly as the coordinator would send it, through the topic's codec."""
    saga_id = uuid.uuid4()
    payload = action.build(StepContext(saga_id, action.name, data, reason))
    envelope = wrap(payload, correlation_id=data.order_id, saga_id=saga_id)
    codec = codec_for(action.to.name)
    return codec.decode(codec.encode(envelope))


def _replies(uow: UnitOfWork, command: Envelope[Any]) -> list[Any]:
    """The replies to ``command`` the handler put in the outbox, decoded as the coordinator decodes them."""
    uow.flush()
    query = sa.text("SELECT value FROM outbox WHERE topic = :t ORDER BY id")
    replies = [codec_for(SAGA_REPLIES.name).decode(v) for (v,) in uow.conn.execute(query, {"t": SAGA_REPLIES.name})]
    return [r.payload for r in replies if r.causation_id == command.message_id]


def _expect(
    action: Action[OrderSagaData], routes: Routes[Any], uow: UnitOfWork, command: Envelope[Any], outcome: str
) -> None:
    single(routes[action.to.name][command.type])(uow, command)
    (reply,) = _replies(uow, command)
    expected: tuple[type, ...] = (action.done,) if outcome == "done" else action.failed
    assert isinstance(reply, expected), f"{action.name}: got {type(reply).__name__}, expected {expected}"


def test_every_action_of_the_saga_is_covered_here() -> None:
    actions = {s.send.name for s in CREATE_ORDER.steps} | {s.undo.name for s in CREATE_ORDER.steps if s.undo}
    assert CREATE_ORDER.on_rollback is not None
    assert actions | {CREATE_ORDER.on_rollback.name} == {
        a.name for a in (reserve_stock, release_stock, charge_payment, refund_payment, approve_order, reject_order)
    }


@pytest.mark.parametrize(("quantity", "outcome"), [(1, "done"), (100, "failed")])
def test_catalog_answers_reserve_stock(quantity: int, outcome: str) -> None:
    with rolled_back("catalog", SqlCatalogUnitOfWork, catalog_outbox) as uow:
        # Known stock for this case only (rolled back with the rest): 50 units available, so 100 is always too many.
        uow.conn.execute(sa.text("UPDATE products SET on_hand = reserved + 50 WHERE sku = 'NES-SMB3'"))
        _expect(reserve_stock, CATALOG_ROUTES, uow, _command(reserve_stock, _data(quantity=quantity)), outcome)


def test_catalog_answers_release_stock() -> None:
    data = _data()
    with rolled_back("catalog", SqlCatalogUnitOfWork, catalog_outbox) as uow:
        single(CATALOG_ROUTES[reserve_stock.to.name]["ReserveStock"])(uow, _command(reserve_stock, data))
        uow.flush()  # as the reservation's commit would
        _expect(release_stock, CATALOG_ROUTES, uow, _command(release_stock, data), "done")


@pytest.mark.parametrize(("method", "outcome"), [("pm_card_visa", "done"), ("pm_card_chargeCustomerFail", "failed")])
def test_payment_answers_charge_payment(method: str, outcome: str) -> None:
    unit = unit_factory(PaymentStore(database("payment")), SimulatedGateway())
    with rolled_back("payment", unit, payment_outbox) as uow:
        _expect(charge_payment, PAYMENT_ROUTES, uow, _command(charge_payment, _data(method=method)), outcome)


def test_payment_answers_refund_payment() -> None:
    unit = unit_factory(PaymentStore(database("payment")), SimulatedGateway())
    with rolled_back("payment", unit, payment_outbox) as uow:
        _expect(refund_payment, PAYMENT_ROUTES, uow, _command(refund_payment, _data()), "done")


def _with_order(uow: SqlOrdersUnitOfWork) -> OrderSagaData:
    request = orders_services.PlaceOrderRequest("contract", [("NES-SMB3", 1)], "pm_card_visa")
    order, _ = orders_services.place_order(Joined(uow), request)
    uow.discard()
    return msgspec.structs.replace(_data(), order_id=order.order_id)


@pytest.mark.parametrize(("action", "reason"), [(approve_order, None), (reject_order, "out of stock: NES-SMB3")])
def test_orders_answers_its_commands(action: Action[OrderSagaData], reason: str | None) -> None:
    with rolled_back("orders", SqlOrdersUnitOfWork, orders_outbox) as uow:
        data = _with_order(uow)
        _expect(action, ORDERS_ROUTES, uow, _command(action, data, reason), "done")


def test_orders_understands_catalogs_product_events() -> None:
    with rolled_back("catalog", SqlCatalogUnitOfWork, catalog_outbox) as catalog_uow:
        catalog_services.adjust_stock(Joined(catalog_uow), "SNES-CHRONO", 7, "contract test")
        product = catalog_uow.products.get("SNES-CHRONO")
        assert product is not None
        catalog_uow.flush()
        (value,) = catalog_uow.conn.execute(
            sa.text("SELECT value FROM outbox WHERE topic = :t ORDER BY id DESC LIMIT 1"), {"t": PRODUCT_EVENTS.name}
        ).one()
    event = codec_for(PRODUCT_EVENTS.name).decode(value)
    handle = single(ORDERS_ROUTES[PRODUCT_EVENTS.name][event.type])
    with rolled_back("orders", SqlOrdersUnitOfWork, orders_outbox) as uow:
        handle(uow, event)
        uow.flush()  # as its commit would: the view's upsert goes with the outbox insert
        assert uow.product_view.prices(["SNES-CHRONO"]) == {"SNES-CHRONO": product.price_cents}
        (stock,) = uow.conn.execute(sa.text("SELECT stock FROM product_view WHERE sku = 'SNES-CHRONO'")).one()
        assert stock == product.available


def test_a_participant_answers_a_command_that_comes_again_with_the_reply_it_recorded() -> None:
    """Through the consumer's applier and the real inbox: the second copy of a command (a redelivery, or an
    operator's replay with the same message id) is not applied again, and its recorded reply is sent again."""
    command = _command(release_stock, _data())
    value = codec_for(release_stock.to.name).encode(command)
    with rolled_back("catalog", SqlCatalogUnitOfWork, catalog_outbox) as uow:
        apply = BatchApplier(
            service="catalog",
            units=Joined(uow),
            inbox=Inbox(catalog_inbox),
            routes=CATALOG_ROUTES,
            limits=Limits(),
            stats=ConsumerStats(),
        )
        for _copy in range(2):
            apply.apply([kafka_message(release_stock.to.name, value)], threading.Event())
        uow.flush()
        query = sa.text("SELECT value FROM outbox WHERE topic = :t ORDER BY id")
        sent = uow.conn.execute(query, {"t": SAGA_REPLIES.name}).scalars().all()
        recorded = uow.conn.execute(
            sa.text("SELECT reply_value FROM inbox WHERE message_id = :id"), {"id": command.message_id}
        ).scalar_one()
    assert len(sent) == 2 and sent[0] == sent[1] == recorded
    assert codec_for(SAGA_REPLIES.name).decode(sent[0]).causation_id == command.message_id
    assert (apply.stats.applied, apply.stats.duplicates, apply.stats.replies_resent) == (1, 1, 1)
