"""Dead letters that PostgreSQL and Kafka always accept, and the reply that tells a command's sender."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from contracts.catalog import ReleaseStock, StockReserved
from contracts.failures import CommandFailed
from contracts.topics import CATALOG_COMMANDS, ORDER_EVENTS, SAGA_REPLIES
from plumbing.escaping import ESCAPED, storable, unescape
from plumbing.poison import DEAD_LETTER_MAX_BYTES, Poison, dead_letter_fields, failure_reply
from plumbing.unit_of_work import reply_id
from tests.unit.plumbing.fakes import command, kafka_message


def fields(**message: Any) -> dict[str, Any]:
    raw = kafka_message(message.pop("topic", CATALOG_COMMANDS.name), message.pop("value", b"v"), **message)
    return dead_letter_fields(Poison(raw, "invalid message: \x00 in it"), "catalog")


def all_text(letter: dict[str, Any]) -> list[str]:
    return [letter["key"] or "", letter["reason"], *letter["headers"], *letter["headers"].values()]


def test_a_storable_message_keeps_its_key_and_headers_as_they_were() -> None:
    letter = fields(
        key=b"saga-1", headers=[("type", b"ReserveStock"), ("traceparent", b"00-ab")], partition=2, offset=7
    )
    assert letter["key"] == "saga-1" and letter["value"] == b"v" and letter["topic"] == CATALOG_COMMANDS.name
    assert letter["headers"] == {
        "type": "ReserveStock",
        "traceparent": "00-ab",
        "dlq.service": "catalog",
        "dlq.partition": "2",
        "dlq.offset": "7",
    }
    assert letter["reason"] == "invalid message: \\x00 in it"


def test_nul_or_invalid_utf8_anywhere_escapes_the_key_and_every_header() -> None:
    letter = fields(key=b"k\\1", headers=[("a", b"plain\\"), ("b", b"\xff\x00")], value=b"\x00\xff")
    assert letter["headers"][ESCAPED] == "backslash"
    assert unescape(letter["key"]) == b"k\\1"
    assert [unescape(letter["headers"][h]) for h in "ab"] == [b"plain\\", b"\xff\x00"]
    assert letter["value"] == b"\x00\xff"  # bytea: the original bytes, always
    assert all(storable(text.encode()) for text in all_text(letter))


def test_a_message_without_key_or_headers() -> None:
    letter = fields(key=None, headers=None, value=None)
    assert letter["key"] is None and letter["value"] == b""
    assert ESCAPED not in letter["headers"]


def test_a_dead_letter_over_the_producers_limit_is_cut_to_fit_and_says_so() -> None:
    headers = [(f"h{i}", b"\xff" * 5_000) for i in range(100)]  # 100 headers of 20,000 escaped characters
    letter = fields(key=b"\x00" * 200_000, headers=[("marker", b"m-1"), *headers], value=b"x" * 990_000)
    size = len(letter["value"]) + sum(len(t.encode()) for t in all_text(letter))
    assert size <= DEAD_LETTER_MAX_BYTES
    assert letter["headers"]["marker"] == "m-1"  # the first headers are kept
    assert len(letter["key"]) == 1024
    assert len(letter["headers"]) == 64 + 5  # and dlq.service, .partition, .offset, .escaped, .truncated
    escaped = 200_000 * 4 + (6 + 3) + 100 * 20_000 + (10 * 2 + 90 * 3)  # key, marker, headers' values, names
    assert letter["headers"]["dlq.truncated"] == (
        f"{escaped + 990_000} bytes: key and headers cut, value cut from 990000 to {len(letter['value'])}"
    )


def test_a_dead_lettered_command_is_answered_with_command_failed() -> None:
    envelope = command(ReleaseStock(order_id="o-1"))
    raw = kafka_message(CATALOG_COMMANDS.name, b"...")
    answer = failure_reply(Poison(raw, "no such reservation", envelope))
    assert answer is not None
    assert answer.payload == CommandFailed(order_id="o-1", command="ReleaseStock", reason="no such reservation")
    assert (answer.saga_id, answer.causation_id) == (envelope.saga_id, envelope.message_id)
    # Not the command's reply id: the real reply to a replay of the command must not look like a copy of it.
    assert answer.message_id != reply_id(envelope.message_id)
    assert failure_reply(Poison(raw, "again", envelope)).message_id == answer.message_id  # type: ignore[union-attr]
    long = failure_reply(Poison(raw, "x\x00" * 400, envelope))
    assert long is not None and len(long.payload.reason) == 500 and "\x00" not in long.payload.reason


def test_only_saga_commands_that_decoded_are_answered() -> None:
    on_commands = kafka_message(CATALOG_COMMANDS.name, b"...")
    reply = command(StockReserved(order_id="o-1"))
    assert failure_reply(Poison(on_commands, "undecodable")) is None
    assert failure_reply(Poison(on_commands, "no saga", msgspec.structs.replace(reply, saga_id=None))) is None
    assert failure_reply(Poison(kafka_message(SAGA_REPLIES.name, b"..."), "no saga", reply)) is None
    assert failure_reply(Poison(kafka_message(ORDER_EVENTS.name, b"..."), "x", reply)) is None
    assert failure_reply(Poison(on_commands, "bad", msgspec.structs.replace(reply, saga_id=uuid.uuid4()))) is not None
