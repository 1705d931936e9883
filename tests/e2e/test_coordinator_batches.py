"""The coordinator applies a batch's replies together (one lock, one update, one history insert), on its real
database in a rolled-back transaction: each saga ends where one-at-a-time application would leave it, a poison
message in a batch is dead-lettered while its neighbours are applied, and a batch costs the same statements
whether it holds one message or many."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contracts.catalog import StockReserved
from contracts.envelope import Envelope, wrap
from contracts.topics import DEAD_LETTERS, ORDER_EVENTS, SAGA_REPLIES
from coordinator.adapters.tables import inbox, outbox
from coordinator.adapters.unit_of_work import SqlCoordinatorUnitOfWork
from coordinator.engine.instance import SagaInstance
from coordinator.entrypoints.messages import ROUTES
from coordinator.sagas import saga_id_for
from coordinator.sagas.create_order import CREATE_ORDER
from coordinator.services import apply_replies, start_saga, start_sagas
from plumbing.batches import BatchApplier, ConsumerStats, Limits
from plumbing.inbox import Inbox
from plumbing.unit_of_work import reply_id
from tests.samples import placed
from tests.support import database, rolled_back
from tests.unit.plumbing.fakes import encoded, kafka_message


def _start(uow: SqlCoordinatorUnitOfWork) -> SagaInstance:
    order_id = str(uuid.uuid4())
    start_saga(uow, placed(order_id, sku="NES-SMB3", quantity=1, unit_price_cents=4999, customer_id="batch-test"))
    saga = uow.sagas.get(saga_id_for(CREATE_ORDER.name, order_id))
    assert saga is not None and saga.current_action == "reserve_stock"
    return saga


def _reserved(saga: SagaInstance, *, message_id: uuid.UUID | None = None) -> Envelope[Any]:
    assert saga.awaiting_message_id is not None
    return wrap(
        StockReserved(order_id=saga.order_id),
        correlation_id=saga.order_id,
        saga_id=saga.saga_id,
        causation_id=saga.awaiting_message_id,
        message_id=message_id or reply_id(saga.awaiting_message_id),
    )


def test_a_batch_of_replies_advances_each_saga_once_and_ignores_a_stray_second_reply() -> None:
    with rolled_back("coordinator", SqlCoordinatorUnitOfWork, outbox) as uow:
        first, second = _start(uow), _start(uow)
        stray = _reserved(first, message_id=uuid.uuid4())  # answers the same command again
        entered: list[uuid.UUID] = []

        def scope(envelope: Envelope[Any]) -> nullcontext[None]:
            entered.append(envelope.message_id)
            return nullcontext()

        batch = [_reserved(first), _reserved(second), stray]
        apply_replies(uow, batch, scope)
        uow.flush()

        assert entered == [reply.message_id for reply in batch]
        for started in (first, second):
            saga = uow.sagas.get(started.saga_id)
            assert saga is not None
            assert (saga.current_action, saga.state.value, saga.version) == ("charge_payment", "RUNNING", 2)
        kinds = uow.conn.execute(
            sa.text("SELECT kind FROM saga_history WHERE saga_id = :s ORDER BY id"), {"s": first.saga_id}
        ).scalars()
        assert list(kinds)[-1] == "reply_ignored"
        charged = uow.conn.execute(
            sa.text("SELECT key FROM outbox WHERE headers->>'type' = 'ChargePayment' AND key IN (:a, :b)"),
            {"a": str(first.saga_id), "b": str(second.saga_id)},
        ).scalars()
        assert sorted(charged) == sorted([str(first.saga_id), str(second.saga_id)])


@dataclass(frozen=True)
class _Claimed:
    envelope: Envelope[Any]
    topic: str


@contextmanager
def _statements(conn: sa.Connection) -> Iterator[list[str]]:
    """The statements the server is sent on ``conn`` meanwhile: an executemany counts once per parameter set
    (psycopg runs it as that many statements); a multi-row insert SQLAlchemy renders from a list of rows
    ("insertmanyvalues": one set of parameters for them all) counts once."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        runs = len(parameters) if executemany and isinstance(parameters, list | tuple) else 1
        sent.extend([statement.split(None, 1)[0]] * runs)

    sa.event.listen(conn, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        sa.event.remove(conn, "before_cursor_execute", count)


def _batch_costs(size: int) -> tuple[list[str], list[str]]:
    """The statements of one batch of ``size`` placed orders, then of one batch of their ``size`` replies,
    each as the consumer runs it: the inbox claim, the handler, the outbox insert."""
    claims = Inbox(inbox)
    with rolled_back("coordinator", SqlCoordinatorUnitOfWork, outbox) as uow:
        events = [placed(str(uuid.uuid4()), sku="NES-SMB3", quantity=1, customer_id="batch-cost") for _ in range(size)]
        with _statements(uow.conn) as starting:
            claims.claim(uow.conn, [_Claimed(event, "orders.events") for event in events])
            started = start_sagas(uow, events, lambda _event: nullcontext())
            uow.flush()
        assert len(started) == size
        replies = [_reserved(saga) for saga in started]
        with _statements(uow.conn) as replying:
            claims.claim(uow.conn, [_Claimed(reply, "coordinator.replies") for reply in replies])
            apply_replies(uow, replies, lambda _envelope: nullcontext())
            uow.flush()
        advanced = {s.saga_id: s.current_action for s in uow.sagas.lock_many(saga.saga_id for saga in started).values()}
        assert advanced == {saga.saga_id: "charge_payment" for saga in started}
        return starting, replying


def test_a_batch_costs_the_same_statements_for_one_message_as_for_forty() -> None:
    one_start, one_reply = _batch_costs(1)
    many_start, many_reply = _batch_costs(40)
    # inbox claim, sagas insert, then the outbox insert with the history insert (one statement: ``UnitOfWork.defer``)
    assert one_start == many_start == ["INSERT", "INSERT", "WITH"]
    # inbox claim, lock the sagas, one update, then the outbox insert with the history insert
    assert one_reply == many_reply == ["INSERT", "SELECT", "UPDATE", "WITH"]


class _Savepoints:
    """Units of work as savepoints of one open transaction (rolled back by the test): each ``begin`` is undone
    alone when its block fails, as a real transaction would be."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    @contextmanager
    def begin(self) -> Iterator[SqlCoordinatorUnitOfWork]:
        with self.conn.begin_nested():
            uow = SqlCoordinatorUnitOfWork(self.conn, outbox)
            yield uow
            uow.flush()

    @contextmanager
    def read(self) -> Iterator[SqlCoordinatorUnitOfWork]:
        yield SqlCoordinatorUnitOfWork(self.conn, outbox)


def test_a_poison_reply_between_two_placed_orders_is_dead_lettered_and_both_sagas_start() -> None:
    first, second = (placed(str(uuid.uuid4()), sku="NES-SMB3", quantity=1) for _ in range(2))
    nobody = uuid.uuid4()
    stray = wrap(StockReserved(order_id="nobody"), correlation_id="nobody", saga_id=nobody, causation_id=nobody)
    batch = [
        kafka_message(ORDER_EVENTS.name, encoded(first)),
        kafka_message(SAGA_REPLIES.name, encoded(stray)),
        kafka_message(ORDER_EVENTS.name, encoded(second)),
    ]
    stats = ConsumerStats()
    with database("coordinator").connect() as conn, conn.begin():  # never committed
        applier = BatchApplier(
            service="coordinator",
            units=_Savepoints(conn),
            inbox=Inbox(inbox),
            routes=ROUTES,
            limits=Limits(),
            stats=stats,
        )
        applier.apply(batch, threading.Event())

        sagas = [saga_id_for(CREATE_ORDER.name, event.payload.order_id) for event in (first, second)]
        reserves = conn.execute(
            sa.select(outbox.c.key).where(
                outbox.c.headers["type"].astext == "ReserveStock", outbox.c.key.in_([str(s) for s in sagas])
            )
        ).scalars()
        assert sorted(reserves) == sorted(str(s) for s in sagas)  # each saga's first command, once
        dead = conn.execute(
            sa.select(outbox.c.value).where(
                outbox.c.topic == DEAD_LETTERS.name, outbox.c.headers["dlq.topic"].astext == SAGA_REPLIES.name
            )
        ).scalars()
        assert [value for value in dead if value == encoded(stray)] == [encoded(stray)]
        claimed = conn.execute(
            sa.select(inbox.c.message_id).where(inbox.c.message_id.in_([first.message_id, second.message_id]))
        ).scalars()
        assert set(claimed) == {first.message_id, second.message_id}
    assert (stats.applied, stats.dead_lettered) == (2, 1)
