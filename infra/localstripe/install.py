"""The emulator's own virtualenv, ``<state>/localstripe-venv``, built from the pinned
``infra/requirements-localstripe.txt`` and rebuilt whenever that file changes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from infra import state

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements-localstripe.txt"
_MARKER = ".rv-requirements.sha256"


def venv_dir() -> Path:
    """The virtualenv's directory."""
    return state.state_dir() / "localstripe-venv"


def python() -> Path:
    """The virtualenv's python."""
    return venv_dir() / "bin" / "python"


def clean_env() -> dict[str, str]:
    """This environment without what would leak into the virtualenv's python (PYTHONPATH, PYTHONHOME, VIRTUAL_ENV)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def is_installed() -> bool:
    """True if the virtualenv exists and was built from the current requirements."""
    try:
        return python().exists() and (venv_dir() / _MARKER).read_text().strip() == _requirements_hash()
    except OSError:
        return False


def install(timeout: float = 900) -> None:
    """(Re)build the virtualenv from the requirements, logging to ``<state>/log/localstripe-install.log``."""
    log_path = state.log_path("localstripe-install")
    deadline = time.monotonic() + timeout
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv_dir())],
        [str(python()), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--require-virtualenv",
         "-r", str(REQUIREMENTS)],
        [str(python()), "-c", "import aiohttp.web, localstripe.server"],
    ]  # fmt: skip
    with state.open_log(log_path) as log:
        for cmd in steps:
            os.write(log, f"$ {' '.join(cmd)}\n".encode())
            try:
                proc = subprocess.run(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=clean_env(),
                    timeout=max(deadline - time.monotonic(), 1),
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise RuntimeError(f"timed out installing localstripe: {cmd[2]}") from exc
            if proc.returncode != 0:
                where = f"`{' '.join(cmd[:4])}` (log: {log_path})"
                raise RuntimeError(f"installing localstripe failed at {where}\n{state.tail(log_path, 25)}")
    (venv_dir() / _MARKER).write_text(_requirements_hash() + "\n")
