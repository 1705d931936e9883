"""What any participant answers when it cannot apply a saga command at all."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Message, Reason

CommandType = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CommandFailed(Message, frozen=True, kw_only=True):
    """The participant gave up on a command (it was dead-lettered, with this reason): do not wait for a reply.

    Sent on the reply topic in the command's saga, so the saga moves on at once instead of timing out.
    """

    order_id: str
    command: CommandType
    reason: Reason
