"""Retired versions of the replies any participant may send (v1: upgraded field by field to v2)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.base import Retired
from contracts.failures import CommandFailed
from contracts.retired.base import ReasonV1, upgraded


class CommandFailedV1(Retired, frozen=True, kw_only=True, tag="CommandFailed"):
    """The participant gave up on a command (it was dead-lettered, with this reason): do not wait for a reply.

    Sent on the reply topic in the command's saga, so the saga moves on at once instead of timing out.
    """

    schema_version = 1
    order_id: str
    command: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    reason: ReasonV1

    def upgrade(self) -> CommandFailed:
        return upgraded(self, CommandFailed)
