"""Catalog and orders apply a consumer batch with a constant number of statements, whatever its size, on their
real databases (rolled back); a batch with one impossible command in the middle applies its neighbours and
dead-letters that one, exactly as one message at a time would."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Generic

import sqlalchemy as sa

from catalog.adapters.tables import inbox as catalog_inbox
from catalog.adapters.tables import outbox as catalog_outbox
from catalog.adapters.unit_of_work import SqlCatalogUnitOfWork
from catalog.entrypoints.messages import STOCK_COMMANDS
from contracts.base import Line
from contracts.catalog import ReleaseStock, ReserveStock
from contracts.codecs import codec_for
from contracts.envelope import Envelope, wrap
from contracts.failures import CommandFailed
from contracts.orders import ApproveOrder, OrderApproved, OrderRejected, RejectOrder
from contracts.topics import CATALOG_COMMANDS, ORDERS_COMMANDS, PRODUCT_EVENTS, SAGA_REPLIES
from orders import services as orders_services
from orders.adapters.tables import inbox as orders_inbox
from orders.adapters.tables import outbox as orders_outbox
from orders.adapters.unit_of_work import SqlOrdersUnitOfWork
from orders.entrypoints.messages import DECISIONS, PRODUCT_CHANGES, ROUTES
from orders.services import PlaceOrderRequest
from plumbing.batches import BatchApplier, ConsumerStats, Limits
from plumbing.inbox import Inbox
from plumbing.unit_of_work import U
from tests.e2e.test_coordinator_batches import _Claimed, _statements
from tests.support import Joined, rolled_back
from tests.unit.orders.fakes import product
from tests.unit.plumbing.fakes import kafka_message

SKUS = ("NES-SMB3", "SNES-CHRONO", "GB-TETRIS")


def _unscoped(_envelope: Envelope[Any]) -> nullcontext[None]:
    return nullcontext()


def _command(payload: Any) -> Envelope[Any]:
    return wrap(payload, correlation_id=payload.order_id, saga_id=uuid.uuid4())


def _catalog_cost(size: int) -> list[str]:
    """The statements of one batch of ``size`` reservations and ``size`` releases of other orders' earlier
    reservations, as the consumer runs it: the inbox claim, the handler, the outbox insert, the recorded replies."""
    with rolled_back("catalog", SqlCatalogUnitOfWork, catalog_outbox) as uow:
        uow.conn.execute(sa.text("UPDATE products SET on_hand = on_hand + 1000"))
        earlier = [_command(ReserveStock(order_id=f"old-{uuid.uuid4()}", lines=[Line(sku="NES-SMB3", quantity=1)]))]
        STOCK_COMMANDS.many(uow, earlier * size, _unscoped)
        uow.flush()
        batch = [
            _command(ReserveStock(order_id=str(uuid.uuid4()), lines=[Line(sku=SKUS[i % 3], quantity=1)]))
            for i in range(size)
        ] + [_command(ReleaseStock(order_id=c.payload.order_id)) for c in earlier]
        with _statements(uow.conn) as sent:
            Inbox(catalog_inbox).claim(uow.conn, [_Claimed(c, CATALOG_COMMANDS.name) for c in batch])
            STOCK_COMMANDS.many(uow, batch, _unscoped)
            Inbox(catalog_inbox).record_replies(uow, uow.replies)
            uow.flush()
        events = uow.conn.execute(
            sa.text("SELECT count(*) FROM outbox WHERE topic = :t AND id > :after"),
            {"t": PRODUCT_EVENTS.name, "after": uow.written[-len(batch) - 1].id},
        ).scalar_one()
        assert events == min(size, 3)  # one ProductChanged per product the batch changed
        return sent


def test_a_catalog_batch_costs_the_same_statements_for_one_command_as_for_forty() -> None:
    one, forty = _catalog_cost(1), _catalog_cost(40)
    # inbox claim, lock reservations, lock products, then the outbox insert with the stock update, the reservations'
    # upsert and the replies' record (one statement: ``UnitOfWork.defer``)
    assert one == forty == ["INSERT", "SELECT", "SELECT", "WITH"]


def _orders_cost(size: int) -> tuple[list[str], list[str], list[str]]:
    """The statements of placing ``size`` orders in one group, of one batch of their decisions, and of one batch
    of ``size`` product events."""
    with rolled_back("orders", SqlOrdersUnitOfWork, orders_outbox) as uow:
        requests = [
            PlaceOrderRequest("batch-cost", [(SKUS[i % 3], 1)], "pm_card_visa", idempotency_key=str(uuid.uuid4()))
            for i in range(size)
        ]
        with _statements(uow.conn) as placing:
            placed = orders_services.place_orders(Joined(uow), requests)
            uow.flush()
        order_ids = [outcome[0].order_id for outcome in placed if isinstance(outcome, tuple)]
        assert len(order_ids) == size
        decisions = [
            _command(ApproveOrder(order_id=o) if n % 2 else RejectOrder(order_id=o, reason="declined"))
            for n, o in enumerate(order_ids)
        ]
        with _statements(uow.conn) as deciding:
            DECISIONS.many(uow, decisions, _unscoped)
            uow.flush()
        events = [wrap(product(SKUS[i % 3], revision=10**9 + i), correlation_id=SKUS[i % 3]) for i in range(size)]
        with _statements(uow.conn) as viewing:
            PRODUCT_CHANGES.many(uow, events, _unscoped)
            uow.flush()
        return placing, deciding, viewing


def test_an_orders_batch_costs_the_same_statements_for_one_message_as_for_forty() -> None:
    one, forty = _orders_cost(1), _orders_cost(40)
    assert one == forty
    placing, deciding, viewing = one
    # keys, prices, orders, then the outbox insert with the lines (one statement: ``UnitOfWork.defer``)
    assert placing == ["SELECT", "SELECT", "INSERT", "WITH"]
    # lock the orders, their lines, then the outbox insert with the statuses' update
    assert deciding == ["SELECT", "SELECT", "WITH"]
    assert viewing == ["INSERT"]  # the view's upsert, alone: no outbox row


class _Savepoints(Generic[U]):
    """Units of work that each run in a savepoint of one open unit of work (a test's rolled-back transaction):
    a failing one is undone, its queued messages forgotten, as a failing transaction would be."""

    def __init__(self, uow: U) -> None:
        self.uow = uow

    @contextmanager
    def begin(self) -> Iterator[U]:
        savepoint = self.uow.conn.begin_nested()
        try:
            yield self.uow
        except BaseException:
            savepoint.rollback()
            self.uow.discard()
            raise
        self.uow.flush()
        savepoint.commit()

    @contextmanager
    def read(self) -> Iterator[U]:
        yield self.uow


def test_a_batch_with_an_impossible_decision_in_the_middle_applies_its_neighbours_and_dead_letters_it() -> None:
    with rolled_back("orders", SqlOrdersUnitOfWork, orders_outbox) as uow:
        requests = [PlaceOrderRequest("poison", [("NES-SMB3", 1)], "pm_card_visa") for _ in range(2)]
        placed = orders_services.place_orders(Joined(uow), requests)
        first, second = (o[0].order_id for o in placed if isinstance(o, tuple))
        uow.flush()
        batch = [
            _command(ApproveOrder(order_id=first)),
            _command(ApproveOrder(order_id="no-such-order")),
            _command(RejectOrder(order_id=second, reason="declined")),
        ]
        applier = BatchApplier(
            service="orders",
            units=_Savepoints(uow),
            inbox=Inbox(orders_inbox),
            routes=ROUTES,
            limits=Limits(),
            stats=ConsumerStats(),
        )
        codec = codec_for(ORDERS_COMMANDS.name)
        applier.apply([kafka_message(ORDERS_COMMANDS.name, codec.encode(c)) for c in batch], threading.Event())
        rows = uow.conn.execute(
            sa.text("SELECT order_id, status FROM orders WHERE order_id IN (:a, :b)"), {"a": first, "b": second}
        )
        statuses: dict[str, str] = {row.order_id: row.status for row in rows}
        replies = [
            codec_for(SAGA_REPLIES.name).decode(v)
            for v in uow.conn.execute(
                sa.text("SELECT value FROM outbox WHERE topic = :t ORDER BY id"), {"t": SAGA_REPLIES.name}
            ).scalars()
        ]
    assert statuses == {first: "APPROVED", second: "REJECTED"}
    answered = {r.causation_id: type(r.payload) for r in replies if r.causation_id in {c.message_id for c in batch}}
    assert answered == {
        batch[0].message_id: OrderApproved,
        batch[1].message_id: CommandFailed,  # dead-lettered, and its saga told so
        batch[2].message_id: OrderRejected,
    }
    assert sum(r.causation_id in answered for r in replies) == 3  # one answer each, none twice
    assert (applier.stats.applied, applier.stats.dead_lettered) == (2, 1)
