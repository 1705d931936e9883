"""Who asked for an operator's action: the caller the gateway authenticated, else the name a tool gives.

The gateway sets ``X-Authenticated-Subject`` (and drops a caller's own copy, and any ``X-Operator``); a call that
did not come through it may name its caller in ``X-Operator`` (the ``retrovault`` CLI sends ``cli:<user>``).
Neither: ``direct``. Both must be names of ``NAME_PATTERN``: what is recorded is never arbitrary text.
"""

from __future__ import annotations

import re
from typing import Annotated

from litestar.params import HeaderParameter

from plumbing.http import FieldProblem

SUBJECT_HEADER = "X-Authenticated-Subject"
OPERATOR_HEADER = "X-Operator"
DIRECT = "direct"
"""The actor of a call that came neither through the gateway nor from a tool that named its user."""
NAME_PATTERN = r"^[A-Za-z0-9_.@:+|-]{1,80}$"
"""Login names and identity providers' subjects (`auth0|123`): no spaces, quotes or angle brackets."""

Subject = Annotated[
    str | None,
    HeaderParameter(
        name=SUBJECT_HEADER,
        schema_extra={"pattern": NAME_PATTERN},  # checked by ``actor``, so a 400 names the header
        description="the caller the gateway authenticated (set by the gateway only); 1-80 of `[A-Za-z0-9_.@:+|-]`",
    ),
]
Operator = Annotated[
    str | None,
    HeaderParameter(
        name=OPERATOR_HEADER,
        schema_extra={"pattern": NAME_PATTERN},  # checked by ``actor``, so a 400 names the header
        description="who asks, when not through the gateway (e.g. `cli:alice`); 1-80 of `[A-Za-z0-9_.@:+|-]`",
    ),
]


def actor(subject: str | None, operator: str | None) -> str:
    """The actor to record: the gateway's subject, else the tool's name for its user, else ``direct``; a
    malformed ``X-Authenticated-Subject`` or ``X-Operator`` is a 400 naming it."""
    if subject is not None:
        if not re.fullmatch(NAME_PATTERN, subject):
            raise FieldProblem(SUBJECT_HEADER, "must be 1-80 of [A-Za-z0-9_.@:+|-]", status_code=400)
        return subject
    if operator is not None and not re.fullmatch(NAME_PATTERN, operator):
        raise FieldProblem(OPERATOR_HEADER, "must be 1-80 of [A-Za-z0-9_.@:+|-], e.g. cli:alice", status_code=400)
    return operator or DIRECT
