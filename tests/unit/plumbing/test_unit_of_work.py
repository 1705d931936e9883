"""The unit of work keeps each reply's outbox row by its command (for the inbox to record), and forgets the
ones whose rows it discards; what waits for its commit runs after it, never after a failed one; the writes it
defers go with its outbox insert, as one statement."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy.engine import Connection, Engine

from contracts.catalog import ReleaseStock, StockReleased
from contracts.topics import DEAD_LETTERS, SAGA_REPLIES
from plumbing.json_rows import Deferred
from plumbing.unit_of_work import Transactions, UnitOfWork
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


class _Recording:
    """A connection that records what it is sent and gives the outbox rows ids 1, 2, ..."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def execute(self, statement: Any, params: dict[str, Any]) -> Any:
        self.sent.append((str(statement), params))
        ids = list(range(1, len(json.loads(params["rows"])) + 1)) if "rows" in params else []
        return SimpleNamespace(scalars=lambda: ids)


TIMELINE = Deferred(
    "INSERT INTO timeline SELECT * FROM jsonb_array_elements(CAST(:timeline AS jsonb))", "timeline", appends=True
)
ACKED = Deferred("DELETE FROM outbox WHERE id IN (SELECT jsonb_array_elements(CAST(:acked AS jsonb)))", "acked")
STOCK = Deferred("UPDATE stock SET n = v.n FROM jsonb_to_recordset(CAST(:stock AS jsonb)) AS v(n int)", "stock")


def test_deferred_writes_go_with_the_outbox_insert_as_one_statement_their_rows_together() -> None:
    conn = _Recording()
    uow = UnitOfWork(cast(Connection, conn), OUTBOX)
    uow.defer(TIMELINE, [{"n": 1}])
    uow.publish(SAGA_REPLIES, command(ReleaseStock(order_id="a")), key="a")
    uow.defer(ACKED, [7, 8])
    uow.defer(TIMELINE, [{"n": 2}])
    assert uow.flush() == 1

    [(statement, params)] = conn.sent
    assert statement.startswith(f"WITH w0 AS ({TIMELINE.sql}), w1 AS ({ACKED.sql}) INSERT INTO outbox ")
    assert json.loads(params["timeline"]) == [{"n": 1}, {"n": 2}] and json.loads(params["acked"]) == [7, 8]
    assert [row.id for row in uow.written] == [1]
    assert uow.flush() == 0 and len(conn.sent) == 1  # nothing left: nothing sent


def test_a_deferred_write_alone_is_sent_as_it_is_and_a_discarded_one_not_at_all() -> None:
    conn = _Recording()
    uow = UnitOfWork(cast(Connection, conn), OUTBOX)
    uow.defer(ACKED, [1])
    uow.discard()  # its handler was rolled back
    uow.defer(TIMELINE, [{"n": 1}])
    uow.flush()
    assert conn.sent == [(TIMELINE.sql, {"timeline": '[{"n":1}]'})]


def test_a_write_that_may_touch_a_row_again_sends_its_earlier_rows_first_so_the_later_ones_win() -> None:
    conn = _Recording()
    uow = UnitOfWork(cast(Connection, conn), OUTBOX)
    uow.defer(STOCK, [{"n": 1}])
    uow.defer(STOCK, [{"n": 2}])
    assert conn.sent == [(STOCK.sql, {"stock": '[{"n":1}]'})]
    uow.flush()
    assert conn.sent[1:] == [(STOCK.sql, {"stock": '[{"n":2}]'})]
