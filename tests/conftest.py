"""Shared fixtures. Tests under e2e/ and faults/ need the real stack; unit and contract tests do not."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def real_stack() -> None:
    """Start PostgreSQL, Kafka, localstripe, the trace sink and the four services if they are not running."""
    from infra import stack

    stack.up(trace_sink_on=True)
