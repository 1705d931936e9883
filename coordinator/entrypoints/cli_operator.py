"""Who the ``retrovault`` CLI says its user is, in ``X-Operator``: what services record as the actor of a
call that did not come through the gateway (through it, the token's subject wins)."""

from __future__ import annotations

import getpass
import re

_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_.@+-]")


def operator() -> str:
    """``cli:<user>``: the login name, with anything ``X-Operator`` does not take replaced by ``_``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{_NOT_IN_A_NAME.sub('_', user)[:70] or 'unknown'}"
