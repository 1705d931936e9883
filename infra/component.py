"""The interface every piece of the local stack's infrastructure offers, and the command line over it.

PostgreSQL, Kafka, the localstripe emulator and the trace sink are each a module (``infra.postgres``,
``infra.kafka``, ``infra.localstripe``, ``infra.trace_sink``) that implements :class:`Component` with
module-level functions; ``infra.stack`` drives them through it, in start order.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class Component(Protocol):
    """One piece of infrastructure that runs as processes of its own on this machine."""

    @property
    def name(self) -> str:
        """Short name, used in messages and for its log, pid and lock files under ``<state>``."""
        ...

    def start(self) -> None:
        """Install what is missing, start it unless it runs, and return once it serves requests.

        Idempotent; recovers from a :func:`kill` (stale pid files, crash recovery). Raises RuntimeError,
        with the tail of its log, if it does not get ready in time.
        """
        ...

    def stop(self) -> None:
        """Stop it gracefully (SIGKILL once a timeout passes); a no-op when it is not running."""
        ...

    def kill(self) -> None:
        """SIGKILL it at once, as a crash would (fault injection); a later :func:`start` recovers."""
        ...

    def is_running(self) -> bool:
        """True while its process is alive (it may not be serving yet)."""
        ...

    def state_dir(self) -> Path | None:
        """The directory holding its data across restarts; None if it keeps nothing (spans in memory)."""
        ...


def describe(component: Component) -> str:
    """One line: its name, whether it runs and where its state lives."""
    where = component.state_dir() or "memory only"
    return f"{component.name}: {'running' if component.is_running() else 'stopped'} (state: {where})"


def main(component: Component, argv: Sequence[str] | None = None) -> int:
    """``python -m infra.<component> start|stop|kill|status``; status exits 3 when it is stopped.

    An error prints as one line, ``<name> <command>: error: <first line>``, and exits 1.
    """
    parser = argparse.ArgumentParser(prog=f"python -m infra.{component.name.replace('-', '_')}")
    parser.add_argument("command", choices=["start", "stop", "kill", "status"])
    command: str = parser.parse_args(argv).command
    try:
        actions = {"start": component.start, "stop": component.stop, "kill": component.kill}
        if command in actions:
            actions[command]()
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as error:
        first = (str(error).strip() or type(error).__name__).splitlines()[0]
        print(f"{component.name} {command}: error: {first}", file=sys.stderr)
        return 1
    print(describe(component))
    return 0 if command != "status" or component.is_running() else 3
