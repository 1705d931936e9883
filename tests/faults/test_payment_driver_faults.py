"""Payment with its driver on (``RV_PAYMENT_DRIVER``), killed while charges are in flight: each approved order is
charged exactly once, each rejected one charged and refunded at most once, every saga ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra import services
from tests.faults.harness import Run, begin, check_invariants, during, expected_statuses, settle

pytestmark = pytest.mark.faults

ORDERS = 60
DRIVER = {"RV_PAYMENT_DRIVER": "true"}


@pytest.fixture
def payment_driven() -> Iterator[None]:
    """Payment restarted with its driver on; afterwards restarted as it was."""
    services.stop("payment")
    services.start("payment", DRIVER)
    services.wait_healthy("payment")
    try:
        yield
    finally:
        services.stop("payment")
        services.start("payment")
        services.wait_healthy("payment")


@pytest.mark.usefixtures("payment_driven")
def test_payment_killed_with_charges_in_flight_charges_each_approved_order_once() -> None:
    def fault(run: Run) -> None:
        for moment in (10, 25, 40):
            run.wait_placed(moment)
            services.kill("payment")
            services.start("payment", DRIVER)  # no wait: the next kill may hit it while it starts
        services.wait_healthy("payment")

    run = begin()
    during(run, ORDERS, fault)
    settled = settle(run)
    check_invariants(run, settled)
    assert {o.order_id: o.status for o in settled} == expected_statuses(settled)
