"""The unit of work keeps each reply's outbox row by its command (for the inbox to record), and forgets the
ones whose rows it discards; what waits for its commit runs after it, never after a failed one."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from sqlalchemy.engine import Engine

from contracts.catalog import ReleaseStock, StockReleased
from contracts.topics import DEAD_LETTERS, SAGA_REPLIES
from plumbing.unit_of_work import Transactions
from tests.unit.plumbing.fakes import OUTBOX, FakeDatabase, FakeTransaction, FakeUnitOfWork, command


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


def test_the_on_commit_callbacks_run_after_the_commit_and_only_if_it_happens() -> None:
    done: list[str] = []
    uow = FakeUnitOfWork(FakeTransaction(FakeDatabase()))
    uow.on_commit.append(lambda: done.append("woken"))
    units = Transactions(cast(Engine, None), OUTBOX, lambda _conn, _outbox: uow)

    with pytest.raises(RuntimeError, match=r"^commit failed$"):
        units.commit(_failing_commit, uow)
    assert done == []
    units.commit(lambda: done.append("committed"), uow)
    assert done == ["committed", "woken"]


def _failing_commit() -> None:
    raise RuntimeError("commit failed")


class _Connection:
    """Just what ``Transactions.begin`` uses of a SQLAlchemy connection and engine."""

    def __init__(self, commit: Callable[[], None]) -> None:
        self.commit = commit

    def connect(self) -> _Connection:
        return self

    def begin(self) -> _Connection:
        return self

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


@pytest.mark.parametrize("fails", ["block", "commit"])
def test_the_on_rollback_callbacks_run_when_the_block_or_its_commit_fails_and_never_after_a_commit(fails: str) -> None:
    done: list[str] = []
    uow = FakeUnitOfWork(FakeTransaction(FakeDatabase()))
    uow.on_commit.append(lambda: done.append("committed"))
    uow.on_rollback.append(lambda: done.append("rolled back"))
    engine = _Connection(_failing_commit if fails == "commit" else lambda: None)
    units = Transactions(cast(Engine, engine), OUTBOX, lambda _conn, _outbox: uow)

    with pytest.raises(RuntimeError), units.begin():
        if fails == "block":
            raise RuntimeError("the handler failed")
    assert done == ["rolled back"]

    done.clear()
    with Transactions(cast(Engine, _Connection(lambda: None)), OUTBOX, lambda _conn, _outbox: uow).begin():
        pass
    assert done == ["committed"]
