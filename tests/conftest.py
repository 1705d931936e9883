"""Tests outside tests/unit run against the real stack; bring it up once per session (idempotent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def real_stack(request: pytest.FixtureRequest) -> Iterator[None]:
    """Start PostgreSQL, Kafka, localstripe and the services unless only unit tests were collected."""
    needs_stack = any("unit" not in Path(str(item.fspath)).parts for item in request.session.items)
    if needs_stack:
        from infra import stack

        stack.up()
    yield
