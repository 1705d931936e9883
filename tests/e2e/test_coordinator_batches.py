"""The coordinator applies a batch's replies together (one lock, one update, one history insert), on its real
database in a rolled-back transaction: each saga ends where one-at-a-time application would leave it."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from typing import Any

import sqlalchemy as sa

from contracts.catalog import StockReserved
from contracts.envelope import Envelope, wrap
from coordinator.adapters.tables import outbox
from coordinator.adapters.unit_of_work import SqlCoordinatorUnitOfWork
from coordinator.engine.instance import SagaInstance
from coordinator.sagas import saga_id_for
from coordinator.sagas.create_order import CREATE_ORDER
from coordinator.services import apply_replies, start_saga
from plumbing.unit_of_work import reply_id
from tests.samples import placed
from tests.support import rolled_back


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
