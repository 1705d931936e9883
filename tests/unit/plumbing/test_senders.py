"""Every message a unit of work queues names the instance that ran it (``rv-instance``); a consumer applying a
message knows its writer only inside that message's scope."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.engine import Connection, Engine

from contracts.catalog import ReleaseStock, StockReleased
from contracts.topics import CATALOG_COMMANDS, SAGA_REPLIES
from plumbing.senders import INSTANCE_HEADER, applying, writer
from plumbing.unit_of_work import Transactions
from tests.unit.plumbing.fakes import OUTBOX, FakeDatabase, FakeTransaction, FakeUnitOfWork, command


def units(instance: str | None) -> Transactions[FakeUnitOfWork]:
    def unit(_conn: Connection, _outbox: Any) -> FakeUnitOfWork:
        return FakeUnitOfWork(FakeTransaction(FakeDatabase()))

    return Transactions(cast(Engine, None), OUTBOX, unit, instance=instance)


def test_a_unit_of_work_opened_for_an_instance_names_it_in_every_message_it_queues() -> None:
    uow = units("catalog-2").open(cast(Connection, None))
    asked = command(ReleaseStock(order_id="o1"))
    uow.reply(asked, StockReleased(order_id="o1"))
    uow.publish(CATALOG_COMMANDS, asked, key="k")
    uow.flush()
    assert [(row["topic"], row["headers"][INSTANCE_HEADER]) for row in uow.flushed] == [
        (SAGA_REPLIES.name, "catalog-2"),
        (CATALOG_COMMANDS.name, "catalog-2"),
    ]


def test_a_unit_of_work_with_no_instance_names_none() -> None:
    uow = units(None).open(cast(Connection, None))
    uow.reply(command(ReleaseStock(order_id="o1")), StockReleased(order_id="o1"))
    uow.flush()
    assert INSTANCE_HEADER not in uow.flushed[0]["headers"]


def test_the_writer_is_known_only_inside_the_message_scope_and_only_when_shaped_like_an_instance_id() -> None:
    assert writer() is None
    with applying({INSTANCE_HEADER: "payment-7"}):
        assert writer() == "payment-7"
        with applying({"type": "StockReserved"}):
            assert writer() is None
        assert writer() == "payment-7"
    assert writer() is None
    for hostile in ("", "a b", "x" * 65, "pay\x00ment"):
        with applying({INSTANCE_HEADER: hostile}):
            assert writer() is None
