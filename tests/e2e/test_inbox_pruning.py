"""Inbox retention on a real database (in a rolled-back transaction): rows older than the retention go, with the
replies recorded in them, a bounded batch per statement; recent rows stay, so a message redelivered within the
window is still a duplicate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contracts.catalog import StockReserved
from contracts.envelope import Envelope, wrap
from coordinator.adapters.tables import inbox, outbox
from coordinator.adapters.unit_of_work import SqlCoordinatorUnitOfWork
from plumbing.inbox import Inbox
from tests.support import rolled_back

RETENTION_S = 6 * 3600.0


@dataclass(frozen=True)
class _Claimed:
    envelope: Envelope[Any]
    topic: str


def _message() -> _Claimed:
    order_id = str(uuid.uuid4())
    return _Claimed(wrap(StockReserved(order_id=order_id), correlation_id=order_id), "coordinator.replies")


REPLY = {"topic": "catalog.commands", "key": "k", "value": b"reply", "headers": {"type": "ReserveStock"}}


def test_rows_past_the_retention_are_pruned_in_bounded_batches_and_recent_ones_stay_duplicates() -> None:
    claims = Inbox(inbox)
    with rolled_back("coordinator", SqlCoordinatorUnitOfWork, outbox) as uow:
        old, recent = [_message() for _ in range(3)], [_message() for _ in range(2)]
        assert claims.claim(uow.conn, old + recent) == {m.envelope.message_id for m in old + recent}
        claims.record_replies(uow, {m.envelope.message_id: REPLY for m in old + recent})
        uow.flush()  # the replies go with the outbox insert
        uow.conn.execute(
            sa.update(inbox)
            .where(inbox.c.message_id.in_([m.envelope.message_id for m in old]))
            .values(applied_at=sa.func.now() - sa.text("interval '7 hours'"))
        )

        assert claims.prune(uow.conn, older_than_s=RETENTION_S, limit=2) == 2  # the bound holds
        while claims.prune(uow.conn, older_than_s=RETENTION_S, limit=2):
            pass

        left = set(uow.conn.execute(sa.select(inbox.c.message_id)).scalars())
        assert not left & {m.envelope.message_id for m in old}
        assert {m.envelope.message_id for m in recent} <= left
        # Within the window a redelivered message is still a duplicate, and a command still finds its reply.
        assert claims.claim(uow.conn, recent) == set()
        assert claims.recorded_replies(uow.conn, [m.envelope.message_id for m in recent]) == [REPLY, REPLY]
        # Past it the message would be applied again: the retention must outlast every redelivery.
        assert claims.claim(uow.conn, old[:1]) == {old[0].envelope.message_id}
