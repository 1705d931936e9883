"""A batch of payment commands through the consumer's ``BatchApplier``, with the store's writes group-committed:
one command whose payment the database refuses fails its whole group, so the batch falls back to one message
per transaction, where its neighbours are charged exactly once and it alone is dead-lettered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from contracts.codecs import codec_for
from contracts.failures import CommandFailed
from contracts.payment import PaymentSucceeded
from contracts.topics import DEAD_LETTERS, PAYMENT_COMMANDS, SAGA_REPLIES
from payment.entrypoints.messages import ROUTES
from plumbing.batches import BatchApplier, ConsumerStats, Limits
from tests.unit.payment.fakes import FakeGateway, GroupCommittedRecords, charge
from tests.unit.plumbing.fakes import (
    FakeDatabase,
    FakeInbox,
    FakeUnitOfWork,
    FakeUnits,
    command,
    encoded,
    kafka_message,
)


class PaymentUnits(FakeUnits):
    """The fake consumer transactions, each with payment's ports."""

    def __init__(self, db: FakeDatabase, records: GroupCommittedRecords, gateway: FakeGateway) -> None:
        super().__init__(db)
        self.ports = {"payments": records, "gateway": gateway}

    @contextmanager
    def begin(self) -> Iterator[FakeUnitOfWork]:
        with super().begin() as uow:
            for name, port in self.ports.items():
                setattr(uow, name, port)
            yield uow


def test_a_refused_payment_falls_back_to_one_at_a_time_and_alone_is_dead_lettered() -> None:
    db, records, gateway = FakeDatabase(), GroupCommittedRecords(), FakeGateway()
    records.refused.add("o-2:charge_payment")
    commands = [command(charge(order_id)) for order_id in ("o-1", "o-2", "o-3")]
    applier: BatchApplier[Any] = BatchApplier(
        service="payment",
        units=PaymentUnits(db, records, gateway),
        inbox=FakeInbox(),
        routes=ROUTES,
        limits=Limits(first_backoff_s=0.0),
        stats=ConsumerStats(),
    )
    batch = [kafka_message(PAYMENT_COMMANDS.name, encoded(c), offset=n) for n, c in enumerate(commands)]

    applier.apply(batch, threading.Event())

    replies = [codec_for(SAGA_REPLIES.name).decode(row["value"]) for row in db.rows(SAGA_REPLIES.name)]
    assert [(type(r.payload), r.causation_id) for r in replies] == [
        (PaymentSucceeded, commands[0].message_id),
        (CommandFailed, commands[1].message_id),
        (PaymentSucceeded, commands[2].message_id),
    ]
    assert len(db.rows(DEAD_LETTERS.name)) == 1
    assert sorted(records.rows) == ["o-1", "o-3"]  # the refused payment was never stored
    assert len(gateway.charges) == 2 == len(set(gateway.charges))  # each neighbour charged exactly once
    assert (applier.stats.applied, applier.stats.dead_lettered) == (2, 1)
    assert dict(applier.stats.errors) == {"IntegrityError": 1}  # o-2 alone; the batch's try failed as a whole
    assert records.transactions == 6  # o-1 then o-3 alone: payment, intent, outcome each
