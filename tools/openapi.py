"""Exports each service's OpenAPI document (Litestar generates it) to docs/openapi/, and checks it is current.

The gateway's document is composed from its own routes, the committed service documents and its access rules
(``tools.gateway_openapi``); it ships in the gateway's package, which serves it, and docs/openapi/gateway.json
links to it.

``python -m tools.openapi generate`` writes them; ``python -m tools.openapi check`` fails, naming the
command to run, when a committed document differs from what the code generates.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any, cast

from litestar import Litestar

from gateway.entrypoints.context import Gateway
from gateway.entrypoints.http import create_app
from gateway.entrypoints.schema import DOCUMENT
from plumbing.parked_http import ParkedOutboxController
from plumbing.services import SERVICE_NAMES
from plumbing.wiring import api_plugins, dependencies, openapi_config
from tools.gateway_openapi import compose

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "openapi"
GATEWAY_SHIPPED = ROOT / "gateway" / DOCUMENT
GATEWAY_DOCS = OUT / "gateway.json"


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
    return _dumped(app.openapi_schema.to_schema())


def gateway_document() -> str:
    """The gateway's document: its own routes, and the committed service documents' routed operations."""
    own = create_app(cast(Gateway, None), None).openapi_schema.to_schema()
    services = {service: json.loads((OUT / f"{service}.json").read_text()) for service in SERVICE_NAMES}
    return _dumped(compose(own, services))


def _dumped(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def stale() -> list[str]:
    """One line per committed document that differs from the code's."""
    expected = {OUT / f"{service}.json": document(service) for service in SERVICE_NAMES}
    expected[GATEWAY_SHIPPED] = expected[GATEWAY_DOCS] = gateway_document()
    return [
        f"{path.relative_to(ROOT)} is out of date; run `python -m tools.openapi generate`"
        for path, text in expected.items()
        if not path.exists() or path.read_text() != text
    ]


def main(argv: list[str]) -> int:
    """``generate`` or ``check``."""
    if argv[:1] == ["generate"]:
        OUT.mkdir(parents=True, exist_ok=True)
        for service in SERVICE_NAMES:
            (OUT / f"{service}.json").write_text(document(service))
        GATEWAY_SHIPPED.write_text(gateway_document())
        if not GATEWAY_DOCS.is_symlink():
            GATEWAY_DOCS.unlink(missing_ok=True)
            GATEWAY_DOCS.symlink_to(Path("..", "..", "gateway", DOCUMENT))
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
