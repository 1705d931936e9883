"""End-to-end tests run against the real stack."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _stack(real_stack: None) -> None:
    """Every test here needs the real stack."""
