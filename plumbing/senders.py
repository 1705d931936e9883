"""Which instance of a service wrote a message: the Kafka header that names it, and the writer of the
message being applied.

Every message a unit of work queues names the instance that ran it in an ``rv-instance`` header, so the
coordinator can record which participant instance executed each command whose reply it applies. It is
transport, like the trace context, not part of any message's contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from plumbing.settings import is_instance_id

INSTANCE_HEADER = "rv-instance"

_writer: ContextVar[str | None] = ContextVar("rv_message_writer", default=None)


@contextmanager
def applying(headers: Mapping[str, str]) -> Iterator[None]:
    """Within this block, :func:`writer` names the instance the message with these headers came from."""
    named = headers.get(INSTANCE_HEADER)
    # The header is input like any other: only an id of the shape instances have is believed.
    token = _writer.set(named if named is not None and is_instance_id(named) else None)
    try:
        yield
    finally:
        _writer.reset(token)


def writer() -> str | None:
    """The instance that wrote the message being applied; None outside a message's scope, for a message that
    names none (written before instances were named) or one whose header is not an instance id."""
    return _writer.get()
