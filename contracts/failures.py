"""What any participant answers when it cannot apply a saga command at all."""

from __future__ import annotations

from contracts.base import Message, OrderId, Reason, WireType


class CommandFailed(Message, frozen=True, kw_only=True):
    """The participant gave up on a command (it was dead-lettered, with this reason): do not wait for a reply.

    Sent on the reply topic in the command's saga, so the saga moves on at once instead of timing out.
    """

    schema_version = 2
    order_id: OrderId
    command: WireType
    reason: Reason
