"""The envelope every message travels in, and how to make one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Generic, TypeVar

import msgspec

from contracts.base import CorrelationId, Message, WireType, message_type

M = TypeVar("M", bound=Message)


class Envelope(msgspec.Struct, Generic[M], frozen=True, kw_only=True):
    """Identity and lineage of one message around its payload.

    - ``message_id``: unique per logical message; a retry re-sends the same id.
    - ``correlation_id``: the order the message is about (a product event's: its sku), shared by its whole flow.
    - ``causation_id``: the message that caused this one (a reply's causation is its command).
    - ``saga_id``: the saga the message belongs to, when there is one.
    - ``type`` and ``schema_version``: the payload's wire type and version, readable without decoding it.
    """

    message_id: uuid.UUID
    type: WireType
    schema_version: int
    correlation_id: CorrelationId
    causation_id: uuid.UUID | None = None
    saga_id: uuid.UUID | None = None
    occurred_at: datetime
    payload: M


def wrap(
    payload: M,
    *,
    correlation_id: str,
    saga_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    message_id: uuid.UUID | None = None,
) -> Envelope[M]:
    """Put ``payload`` in a new envelope (a fresh message id unless one is given)."""
    return Envelope(
        message_id=message_id or uuid.uuid4(),
        type=message_type(payload),
        schema_version=type(payload).schema_version,
        correlation_id=correlation_id,
        causation_id=causation_id,
        saga_id=saga_id,
        occurred_at=datetime.now(UTC),
        payload=payload,
    )
