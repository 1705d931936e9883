"""The localstripe Stripe emulator (dev, tests and CI), a :class:`infra.component.Component`.

``install`` builds its own virtualenv from the pinned ``infra/requirements-localstripe.txt``, ``launcher``
runs it on 127.0.0.1 only; inside that virtualenv, ``server`` serves it, ``patches`` holds every change
made to localstripe's code and ``journal`` makes its store durable. Pure stdlib (the emulator's
virtualenv imports this package). CLI: ``python -m infra.localstripe start|stop|kill|status``.

    <state>/localstripe-venv       the virtualenv (rebuilt when the requirements change)
    <state>/localstripe/           durable store: snapshot + request journal
    <state>/log/localstripe.log    server log (access log included)
    <state>/run/localstripe.pid    server pid
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from infra.localstripe.launcher import NAME, api_base, data_dir, is_running, kill, persistent, pid, start, stop

__all__ = ["api_base", "is_running", "kill", "name", "pid", "start", "state_dir", "stop"]

name: Final = NAME


def state_dir() -> Path | None:
    """The durable store (snapshot and request journal); None while ``RV_STRIPE_PERSIST=0`` keeps it in memory."""
    return data_dir() if persistent() else None
