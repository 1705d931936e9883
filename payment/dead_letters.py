"""The dead letters of the commands payment's driver gives up on (``payment.driving``), as the consumer writes them."""

from __future__ import annotations

from typing import Any

from contracts.codecs import Codec
from contracts.envelope import Envelope
from contracts.topics import PAYMENT_COMMANDS
from payment.ports import Unreadable
from plumbing.escaping import printable
from plumbing.poison import REASON_CHARS
from plumbing.tracing import TRACEPARENT


def of_command(command: Envelope[Any], trace: str | None, reason: str) -> dict[str, Any]:
    """The dead letter of a command the driver gives up on, as the consumer writes one (``plumbing.poison``): its
    bytes, key and headers as it came (its trace too), so an operator's replay of it drives the payment on."""
    headers = {"type": command.type, "message_id": str(command.message_id), "dlq.service": "payment"}
    if trace is not None:
        headers[TRACEPARENT] = trace
    value = Codec.encode(command)
    return {
        "topic": PAYMENT_COMMANDS.name,
        "key": str(command.saga_id),
        "value": value,
        "headers": headers,
        "reason": printable(reason, REASON_CHARS),
    }


def of_unreadable(unreadable: Unreadable, reason: str) -> dict[str, Any]:
    """The dead letter of a stored command that does not decode: its bytes as stored, and its trace."""
    headers = {"dlq.service": "payment"}
    if unreadable.trace is not None:
        headers[TRACEPARENT] = unreadable.trace
    fields = {"topic": PAYMENT_COMMANDS.name, "key": None, "value": unreadable.value, "headers": headers}
    return {**fields, "reason": printable(reason, REASON_CHARS)}
