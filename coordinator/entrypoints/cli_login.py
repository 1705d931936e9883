"""The ``retrovault login`` session: the gateway an operator logged in at and the token it gave, kept in a file
only its owner may read (``RV_CLI_SESSION_FILE``), so later commands go through that gateway with that token."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from coordinator.entrypoints.cli_http import CliError


@dataclass(frozen=True)
class Session:
    """Who logged in where, with which token, until when (seconds since the epoch)."""

    gateway: str
    subject: str
    token: str
    expires_at: float


def save(path: Path, session: Session) -> None:
    """Write the session, readable by its owner only (the directory too), replacing any earlier one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(session), file)
    temporary.replace(path)


def load(path: Path) -> Session | None:
    """The saved session, or None when there is none; an unreadable file is a one-line error."""
    try:
        raw = json.loads(path.read_text())
        return Session(str(raw["gateway"]), str(raw["subject"]), str(raw["token"]), float(raw["expires_at"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CliError(f"cannot read the login session {path}: {error}; run `retrovault logout`") from error


def current(path: Path) -> Session | None:
    """The saved session if it is still valid; an expired one is a one-line error naming the way out."""
    session = load(path)
    if session is not None and time.time() >= session.expires_at:
        raise CliError(f"the login of {session.subject} at {session.gateway} has expired: run `retrovault login`")
    return session


def forget(path: Path) -> bool:
    """Remove the saved session; False if there was none."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
