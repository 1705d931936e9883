"""What every ``retrovault`` command shares: the HTTP client, the error it raises, and how it prints."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import timedelta
from typing import Any

import httpx
from rich.console import Console

from coordinator.entrypoints.cli_operator import operator

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# Piped output (scripts, tests) is not cut to 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 240)


class CliError(Exception):
    """A one-line error for the user."""


def duration(text: str) -> timedelta:
    """An argument like ``30s``, ``5m``, ``2h`` or ``1d``."""
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s, 5m, 2h or 1d, got {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Api:
    """A thin HTTP client that turns every failure into one readable line."""

    def __init__(self, name: str, base_url: str, token: str | None = None) -> None:
        self.name = name
        headers = {"X-Operator": operator(), **({"Authorization": f"Bearer {token}"} if token else {})}
        self._client = httpx.Client(base_url=base_url, timeout=30.0, headers=headers)

    @property
    def base_url(self) -> str:
        """Where this API is."""
        return str(self._client.base_url).rstrip("/")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful call; raises CliError otherwise."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise CliError(f"cannot reach {self.name} at {self._client.base_url}: {error}") from error
        if response.status_code >= 400:
            try:
                problem = response.json()
                detail = problem.get("detail") or problem.get("title") or response.text
            except ValueError:
                detail = response.text
            raise CliError(f"{self.name} answered {response.status_code}: {detail}")
        return response.json() if response.content else None


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout, for scripts."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
