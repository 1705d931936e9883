"""Exports each service's OpenAPI document (Litestar generates it) to docs/openapi/, and checks it is current.

``python -m tools.openapi generate`` writes them; ``python -m tools.openapi check`` fails, naming the
command to run, when a committed document differs from what the code generates.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from litestar import Litestar

from plumbing.parked_http import ParkedOutboxController
from plumbing.services import SERVICE_NAMES
from plumbing.wiring import api_plugins, dependencies, openapi_config

OUT = Path(__file__).resolve().parent.parent / "docs" / "openapi"


def document(service: str) -> str:
    """The service's OpenAPI document as stable JSON (its HTTP API only; health and metrics are excluded)."""
    # Every service also serves the parked-outbox routes (added by plumbing.wiring.build_app).
    handlers: list[Any] = [*importlib.import_module(f"{service}.bootstrap").HTTP_API, ParkedOutboxController]
    app = Litestar(
        route_handlers=handlers,
        dependencies=dependencies(None, None),
        openapi_config=openapi_config(service),
        plugins=api_plugins(),
    )
    return json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True) + "\n"


def stale() -> list[str]:
    """One line per committed document that differs from the code's."""
    problems = []
    for service in SERVICE_NAMES:
        path = OUT / f"{service}.json"
        if not path.exists() or path.read_text() != document(service):
            name = path.relative_to(OUT.parent.parent)
            problems.append(f"{name} is out of date; run `python -m tools.openapi generate`")
    return problems


def main(argv: list[str]) -> int:
    """``generate`` or ``check``."""
    if argv[:1] == ["generate"]:
        OUT.mkdir(parents=True, exist_ok=True)
        for service in SERVICE_NAMES:
            (OUT / f"{service}.json").write_text(document(service))
        return 0
    if argv[:1] == ["check"]:
        problems = stale()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    print("usage: python -m tools.openapi generate|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
