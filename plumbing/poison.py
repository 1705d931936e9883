"""Messages a consumer gives up on: their dead letter (storable whatever their bytes) and their sender's answer."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from confluent_kafka import Message as KafkaMessage

from contracts.base import Reason, fit
from contracts.envelope import Envelope
from contracts.failures import CommandFailed
from contracts.topics import CATALOG_COMMANDS, ORDERS_COMMANDS, PAYMENT_COMMANDS
from plumbing.escaping import ESCAPED, SCHEME, as_bytes, escape, printable, storable
from plumbing.unit_of_work import reply_id, reply_to

log = logging.getLogger(__name__)

COMMAND_TOPICS = frozenset({CATALOG_COMMANDS.name, PAYMENT_COMMANDS.name, ORDERS_COMMANDS.name})
"""Topics whose messages are saga commands: their sender waits for a reply."""

DEAD_LETTER_MAX_BYTES = 950_000
"""A dead letter's key, headers and value together stay under this, below the producer's 1,000,000-byte limit
(with room for the record's own overhead), so the relay can always publish it."""
TRUNCATED_FIELD_CHARS = 1024
"""When a dead letter is over ``DEAD_LETTER_MAX_BYTES``: its key and each header are cut to this length."""
TRUNCATED_HEADERS = 64
"""... and only its first this many headers are kept (the value gets what is left)."""
REASON_CHARS = 2000
"""A dead letter's ``dlq.reason`` is cut to this (the margin under the producer's limit covers it)."""


@dataclass
class Poison:
    """A Kafka message that must go to the dead-letter topic, and why; its envelope if it decoded."""

    raw: KafkaMessage
    reason: str
    envelope: Envelope[Any] | None = None


def failure_reply(bad: Poison) -> Envelope[CommandFailed] | None:
    """The ``CommandFailed`` that tells a saga command's sender it was dead-lettered; None for anything else.

    Only a message that decoded can be answered: without its envelope there is no saga to tell. Its id is not
    the command's reply id: the real reply, sent when an operator replays the command after a fix, must not be
    taken for a copy of this one. It is derived from where the command was read, so a redelivery of the same
    Kafka message (a crash before the commit) repeats the same id and is dropped as a duplicate.
    """
    envelope = bad.envelope
    if envelope is None or envelope.saga_id is None or bad.raw.topic() not in COMMAND_TOPICS:
        return None
    order_id = getattr(envelope.payload, "order_id", None) or envelope.correlation_id
    failed = CommandFailed(order_id=str(order_id), command=envelope.type, reason=fit(bad.reason, Reason))
    where = f"failed:{bad.raw.topic()}/{bad.raw.partition()}/{bad.raw.offset()}"
    return msgspec.structs.replace(
        reply_to(envelope, failed), message_id=uuid.uuid5(reply_id(envelope.message_id), where)
    )


def dead_letter_fields(bad: Poison, service: str) -> dict[str, Any]:
    """What ``UnitOfWork.dead_letter`` needs to send ``bad`` to the dead-letter topic, whatever its bytes.

    The original key and headers are kept as text when they are storable, else escaped (all of them, marked
    with ``dlq.escaped``; see ``plumbing.escaping``). The value (``bytea``) is always the original bytes,
    unless the whole would be over ``DEAD_LETTER_MAX_BYTES``: then fields are cut and ``dlq.truncated`` says so.
    """
    raw = bad.raw
    key = None if raw.key() is None else as_bytes(raw.key())
    pairs = [(as_bytes(name), as_bytes(value)) for name, value in _raw_headers(raw)]
    escaped = not all(storable(part) for part in [key or b"", *(p for pair in pairs for p in pair)])
    text = escape if escaped else _utf8
    key_text = None if key is None else text(key)
    headers = {text(name): text(value) for name, value in pairs}
    value = raw.value() or b""
    extra = {"dlq.service": service, "dlq.partition": str(raw.partition()), "dlq.offset": str(raw.offset())}
    if escaped:
        extra[ESCAPED] = SCHEME
    reason = printable(bad.reason, REASON_CHARS)
    # Room for what is added besides: dlq.reason, dlq.topic and dlq.truncated (under 300 bytes with their names).
    budget = DEAD_LETTER_MAX_BYTES - _size(None, extra, reason.encode()) - 300
    key_text, headers, value, truncated = _fit(key_text, headers, value, budget)
    if truncated:
        extra["dlq.truncated"] = truncated
    return {"topic": raw.topic() or "", "key": key_text, "value": value, "headers": headers | extra, "reason": reason}


def _raw_headers(raw: KafkaMessage) -> list[tuple[str | bytes, str | bytes | None]]:
    try:
        original = raw.headers() or []
    except Exception as error:  # a header the client library cannot even read: say so instead
        log.warning("unreadable Kafka headers: %r", error)
        return [("dlq.headers", f"unreadable: {error!r}")]
    return list(original.items() if isinstance(original, dict) else original)


def _utf8(data: bytes) -> str:
    return data.decode("utf-8")


def _size(key: str | None, headers: dict[str, str], value: bytes) -> int:
    text = [key or "", *headers, *headers.values()]
    return len(value) + sum(len(part.encode("utf-8")) for part in text)


def _fit(
    key: str | None, headers: dict[str, str], value: bytes, budget: int
) -> tuple[str | None, dict[str, str], bytes, str]:
    """Cut the fields to fit ``budget`` bytes; the last item says what was cut ("" if nothing)."""
    size = _size(key, headers, value)
    if size <= budget:
        return key, headers, value, ""
    n = TRUNCATED_FIELD_CHARS
    cut_key = None if key is None else key[:n]
    cut_headers = {name[:n]: text[:n] for name, text in list(headers.items())[:TRUNCATED_HEADERS]}
    kept = min(max(budget - _size(cut_key, cut_headers, b""), 0), len(value))
    return (
        cut_key,
        cut_headers,
        value[:kept],
        f"{size} bytes: key and headers cut, value cut from {len(value)} to {kept}",
    )
