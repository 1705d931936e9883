"""``BatchApplier``: every message applied once or dead-lettered once, whatever its bytes or its handler does;
re-sent commands answered with their recorded reply; collisions retried a bounded number of times; outages
left to the caller. Fake Kafka messages and a fake database (``tests/unit/plumbing/fakes.py``)."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from typing import Any

import msgspec
import psycopg
import pytest
import sqlalchemy as sa

from contracts.base import Line
from contracts.catalog import ReleaseStock, ReserveStock, StockReserved
from contracts.codecs import codec_for
from contracts.envelope import Envelope
from contracts.failures import CommandFailed
from contracts.topics import CATALOG_COMMANDS, DEAD_LETTERS, SAGA_REPLIES
from plumbing.batches import BatchApplier, ConsumerStats, Limits
from plumbing.errors import RetryLater, Unprocessable
from plumbing.escaping import ESCAPED, unescape
from plumbing.routing import Batched, Scope
from tests.unit.plumbing.fakes import (
    FakeDatabase,
    FakeInbox,
    FakeUnitOfWork,
    FakeUnits,
    command,
    encoded,
    kafka_message,
)

COMMANDS = CATALOG_COMMANDS.name
REPLIES = SAGA_REPLIES.name


def db_error(sqlstate: str) -> sa.exc.StatementError:
    """A psycopg error of this SQLSTATE as SQLAlchemy raises it."""
    return sa.exc.DBAPIError.instance("UPDATE products", {}, psycopg.errors.lookup(sqlstate)("boom"), psycopg.Error)


class Handlers:
    """Handlers whose behaviour per order id is scripted: each call takes the next error to raise, if any."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = defaultdict(int)
        self.script: dict[str, list[BaseException]] = {}
        self.batches: list[list[str]] = []

    def reserve(self, uow: FakeUnitOfWork, envelope: Envelope[Any]) -> None:
        order_id = envelope.payload.order_id
        self.calls[order_id] += 1
        if self.script.get(order_id):
            raise self.script[order_id].pop(0)
        uow.reply(envelope, StockReserved(order_id=order_id))

    def replies(self, uow: FakeUnitOfWork, envelopes: list[Envelope[Any]], scope: Scope) -> None:
        self.batches.append([e.payload.order_id for e in envelopes])
        for envelope in envelopes:
            with scope(envelope):
                self.reserve_free(envelope.payload.order_id)

    def reserve_free(self, order_id: str) -> None:
        self.calls[order_id] += 1
        if self.script.get(order_id):
            raise self.script[order_id].pop(0)


@pytest.fixture
def handlers() -> Handlers:
    return Handlers()


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


def applier(db: FakeDatabase, handlers: Handlers, **limits: Any) -> BatchApplier[Any]:
    routes: Any = {
        COMMANDS: {"ReserveStock": handlers.reserve, "ReleaseStock": handlers.reserve},
        REPLIES: {"StockReserved": Batched(handlers.replies)},
    }
    return BatchApplier(
        service="catalog",
        units=FakeUnits(db),
        inbox=FakeInbox(),
        routes=routes,
        limits=Limits(**{"first_backoff_s": 0.0, **limits}),
        stats=ConsumerStats(),
    )


def reserve(order_id: str, message_id: uuid.UUID | None = None) -> Any:
    envelope = command(ReserveStock(order_id=order_id, lines=[Line(sku="NES-SMB3", quantity=1)]), message_id=message_id)
    return kafka_message(COMMANDS, encoded(envelope))


def reply(order_id: str) -> Any:
    return kafka_message(REPLIES, encoded(command(StockReserved(order_id=order_id))))


def dead_letters(db: FakeDatabase) -> list[dict[str, Any]]:
    return db.rows(DEAD_LETTERS.name)


def replies(db: FakeDatabase) -> list[Envelope[Any]]:
    return [codec_for(REPLIES).decode(row["value"]) for row in db.rows(REPLIES)]


STOP = threading.Event()


def test_a_batch_is_applied_in_one_transaction_and_each_commands_reply_is_recorded(
    db: FakeDatabase, handlers: Handlers
) -> None:
    apply = applier(db, handlers)
    batch = [reserve("a"), reply("r1"), reserve("b"), reply("r2")]
    apply.apply(batch, STOP)
    assert db.commits == 1
    assert handlers.batches == [["r1", "r2"]]  # a batched handler gets all its messages at once
    assert [r.payload for r in replies(db)] == [StockReserved(order_id="a"), StockReserved(order_id="b")]
    recorded = [row for row in db.inbox.values() if row is not None]
    assert sorted(row["value"] for row in recorded) == sorted(row["value"] for row in db.rows(REPLIES))
    assert apply.stats.applied == 4 and apply.stats.dead_lettered == 0


def test_a_command_that_comes_again_is_answered_with_its_recorded_reply(db: FakeDatabase, handlers: Handlers) -> None:
    apply = applier(db, handlers)
    first = reserve("a")
    apply.apply([first], STOP)
    (answer,) = db.rows(REPLIES)
    again = kafka_message(COMMANDS, first.value(), key=first.key())  # a redelivery, or an operator's replay
    apply.apply([again, reply("r1")], STOP)
    apply.apply([kafka_message(REPLIES, reply("r1").value())], STOP)
    assert handlers.calls["a"] == 1
    assert db.rows(REPLIES) == [answer, answer]  # the same bytes again; the reply to an event is not re-sent
    assert apply.stats.duplicates == 1 and apply.stats.replies_resent == 1


def test_a_copy_in_the_same_batch_is_applied_once_and_answered_once(db: FakeDatabase, handlers: Handlers) -> None:
    apply = applier(db, handlers)
    first = reserve("a")
    apply.apply([first, kafka_message(COMMANDS, first.value())], STOP)
    assert handlers.calls["a"] == 1 and len(db.rows(REPLIES)) == 1
    assert apply.stats.applied == 1 and apply.stats.duplicates == 1 and apply.stats.replies_resent == 0


DEEP = b'{"message_id":' + b"[" * 2000 + b"]" * 2000 + b"}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (DEEP, "invalid message: RecursionError: maximum recursion depth exceeded"),
        (b"\x00\xff garbage", "invalid message: JSON is malformed"),
        (None, "invalid message: Input data was truncated"),
        (b'{"message_id": 1e999999}', "invalid message:"),
        (b"[" + b"9" * 5000 + b"]", "invalid message:"),
    ],
)
def test_bytes_that_do_not_decode_are_dead_lettered_and_the_rest_applied(
    db: FakeDatabase, handlers: Handlers, value: bytes | None, reason: str
) -> None:
    apply = applier(db, handlers)
    apply.apply([reserve("a"), kafka_message(COMMANDS, value), reserve("b")], STOP)
    (letter,) = dead_letters(db)
    assert letter["headers"]["dlq.reason"].startswith(reason)
    assert letter["value"] == (value or b"")
    assert [r.payload.order_id for r in replies(db)] == ["a", "b"]  # no saga known: no reply to it


def test_a_message_over_the_size_limit_is_not_even_decoded(db: FakeDatabase, handlers: Handlers) -> None:
    apply = applier(db, handlers, max_message_bytes=1000)
    valid_but_large = reserve("a").value() + b" " * 1000  # still a valid command, with trailing whitespace
    apply.apply([kafka_message(COMMANDS, valid_but_large)], STOP)
    (letter,) = dead_letters(db)
    assert letter["headers"]["dlq.reason"] == f"invalid message: {len(valid_but_large)} bytes, over the 1000 limit"
    assert handlers.calls == {} and replies(db) == []


@pytest.mark.parametrize(
    "error",
    [ValueError("bad"), RecursionError("deep"), MemoryError(), KeyError("k"), Unprocessable("no such order")],
    ids=lambda e: type(e).__name__,
)
def test_a_handler_failure_of_any_type_dead_letters_its_command_and_tells_the_sender(
    db: FakeDatabase, handlers: Handlers, error: Exception
) -> None:
    apply = applier(db, handlers)
    handlers.script["bad"] = [error, error]  # together, then alone
    bad = reserve("bad")
    apply.apply([reserve("a"), bad, reserve("b")], STOP)
    (letter,) = dead_letters(db)
    assert letter["value"] == bad.value()
    expected = "no such order" if isinstance(error, Unprocessable) else f"handler failed: {error!r}"
    assert letter["headers"]["dlq.reason"] == expected
    answers = {r.payload.order_id: r for r in replies(db)}
    assert set(answers) == {"a", "b", "bad"}
    failed = answers["bad"]
    sent = codec_for(COMMANDS).decode(bad.value() or b"")
    assert failed.payload == CommandFailed(order_id="bad", command="ReserveStock", reason=expected)
    assert (failed.causation_id, failed.saga_id) == (sent.message_id, sent.saga_id)
    assert apply.stats.dead_lettered == 1 and apply.stats.applied == 2


def test_a_failing_reply_is_dead_lettered_without_a_reply_to_it(db: FakeDatabase, handlers: Handlers) -> None:
    apply = applier(db, handlers)
    handlers.script["bad"] = [Unprocessable("no saga"), Unprocessable("no saga")]
    apply.apply([reply("ok"), reply("bad")], STOP)
    assert [letter["headers"]["dlq.reason"] for letter in dead_letters(db)] == ["no saga"]
    assert replies(db) == []
    assert handlers.batches == [["ok", "bad"], ["ok"], ["bad"]]  # together, then lists of one


def test_a_message_that_keeps_colliding_is_dead_lettered_after_the_bounded_attempts(
    db: FakeDatabase, handlers: Handlers
) -> None:
    apply = applier(db, handlers, max_attempts=4)
    handlers.script["locked"] = [db_error("40P01") for _ in range(10)]
    apply.apply([reserve("locked"), reserve("b")], STOP)
    assert handlers.calls["locked"] == 1 + 4  # together, then 4 attempts alone
    (letter,) = dead_letters(db)
    assert letter["headers"]["dlq.reason"].startswith("gave up after 4 attempts: handler failed: DeadlockDetected")
    assert apply.stats.gave_up == 1 and apply.stats.errors == {"OperationalError": 4}


def test_a_collision_that_clears_is_applied_without_a_dead_letter(db: FakeDatabase, handlers: Handlers) -> None:
    apply = applier(db, handlers)
    handlers.script["a"] = [db_error("40001"), db_error("55P03")]
    apply.apply([reserve("a")], STOP)
    assert handlers.calls["a"] == 3 and dead_letters(db) == []
    assert [r.payload for r in replies(db)] == [StockReserved(order_id="a")]


@pytest.mark.parametrize("error", [db_error("08006"), db_error("57P01"), db_error("53300"), RetryLater("stripe down")])
def test_an_outage_is_left_to_the_caller_and_nothing_is_given_up(
    db: FakeDatabase, handlers: Handlers, error: Exception
) -> None:
    apply = applier(db, handlers, max_attempts=1)
    handlers.script["a"] = [error]
    with pytest.raises(type(error)):
        apply.apply([reserve("a")], STOP)
    assert db.outbox == [] and db.inbox == {}
    apply.apply([reserve("a")], STOP)  # the caller's retry
    assert [r.payload for r in replies(db)] == [StockReserved(order_id="a")]


def test_a_retried_batch_skips_what_was_committed_one_at_a_time(db: FakeDatabase, handlers: Handlers) -> None:
    apply = applier(db, handlers)
    handlers.script["bad"] = [ValueError("bad"), ValueError("bad")]
    handlers.script["late"] = [db_error("08006")]  # alone, after "bad" failed the batch: the database goes away
    batch = [reserve("a"), reserve("bad"), kafka_message(COMMANDS, b"junk"), reserve("late")]
    with pytest.raises(sa.exc.OperationalError):
        apply.apply(batch, STOP)
    apply.apply(batch, STOP)
    assert handlers.calls == {"a": 2, "bad": 2, "late": 2}  # a: together + alone, not again once committed
    assert len(dead_letters(db)) == 2
    assert sorted(r.payload.order_id for r in replies(db)) == ["a", "bad", "late"]


def test_when_even_the_dead_letter_cannot_be_written_the_message_is_skipped(
    db: FakeDatabase, handlers: Handlers
) -> None:
    apply = applier(db, handlers)
    handlers.script["bad"] = [ValueError("bad"), ValueError("bad")]
    db.failing_commits = [db_error("22P05")]  # the dead letter's own transaction
    apply.apply([reserve("bad"), reserve("b")], STOP)
    assert dead_letters(db) == [] and apply.stats.lost == 1
    assert [r.payload.order_id for r in replies(db)] == ["b"]


def test_a_dead_letter_keeps_nul_and_invalid_utf8_escaped_and_recoverable(db: FakeDatabase, handlers: Handlers) -> None:
    apply = applier(db, handlers)
    key, header = b"k\x00\xff", b"v\x00\xc3("
    apply.apply([kafka_message(COMMANDS, b"\x00", key=key, headers=[("h", header), ("traceparent", b"x")])], STOP)
    (letter,) = dead_letters(db)
    assert letter["headers"][ESCAPED] == "backslash"
    assert unescape(letter["key"]) == key and unescape(letter["headers"]["h"]) == header
    assert letter["headers"]["traceparent"] == "x"
    assert "\x00" not in msgspec.json.encode(letter["headers"]).decode() + letter["key"]


def test_a_command_without_saga_is_not_answered(db: FakeDatabase, handlers: Handlers) -> None:
    apply = applier(db, handlers)
    handlers.script["x"] = [ValueError("bad"), ValueError("bad")]
    envelope = msgspec.structs.replace(command(ReleaseStock(order_id="x")), saga_id=None)
    apply.apply([kafka_message(COMMANDS, encoded(envelope))], STOP)
    assert len(dead_letters(db)) == 1 and replies(db) == []
