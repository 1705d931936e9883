"""Fault scenarios share one restocked catalogue and must leave every service and the gateway running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra import kafka, localstripe, postgres, services
from tests.faults.harness import restock


@pytest.fixture(autouse=True)
def stack_restored(real_stack: None) -> Iterator[None]:
    """Restock before each scenario; afterwards bring back whatever a scenario left down."""
    restock()
    yield
    postgres.start()
    kafka.start()
    localstripe.start()
    for name in (*services.SERVICES, services.FRONT_DOOR):
        services.start(name)
    for name in (*services.SERVICES, services.FRONT_DOOR):
        services.wait_healthy(name)
