"""The unit of work keeps each reply's outbox row by its command (for the inbox to record), and forgets the
ones whose rows it discards."""

from __future__ import annotations

from contracts.catalog import ReleaseStock, StockReleased
from contracts.topics import DEAD_LETTERS, SAGA_REPLIES
from tests.unit.plumbing.fakes import FakeDatabase, FakeTransaction, FakeUnitOfWork, command


def test_each_reply_row_is_kept_by_the_id_of_the_command_it_answers() -> None:
    uow = FakeUnitOfWork(FakeTransaction(FakeDatabase()))
    first, second = command(ReleaseStock(order_id="a")), command(ReleaseStock(order_id="b"))
    uow.reply(first, StockReleased(order_id="a"))
    uow.flush()
    uow.reply(second, StockReleased(order_id="b"))
    assert set(uow.replies) == {first.message_id, second.message_id}
    row = uow.replies[first.message_id]
    assert row is uow.flushed[0] and row["topic"] == SAGA_REPLIES.name and row["key"] == str(first.saga_id)
    uow.discard()  # the second reply's handler was rolled back
    assert set(uow.replies) == {first.message_id}


def test_a_dead_letter_is_queued_as_given() -> None:
    uow = FakeUnitOfWork(FakeTransaction(FakeDatabase()))
    uow.dead_letter(topic="t", key="k\\x00", value=b"\x00", headers={"h": "v"}, reason="why")
    uow.flush()
    assert uow.flushed == [
        {
            "topic": DEAD_LETTERS.name,
            "key": "k\\x00",
            "value": b"\x00",
            "headers": {"h": "v", "dlq.reason": "why", "dlq.topic": "t"},
        }
    ]
