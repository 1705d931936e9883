"""Shared fixtures. Tests under e2e/ and faults/ need the real stack; unit and contract tests do not."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def real_stack() -> None:
    """Start PostgreSQL, Kafka, localstripe and the four services if they are not running (idempotent)."""
    from infra import stack

    stack.up()
