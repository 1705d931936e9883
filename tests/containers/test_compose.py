"""compose.yaml is the same system: two replicas of every service over one Kafka, PostgreSQL and Stripe emulator.

Orders stream in (approved, declined card, out of stock) while one container of every service is killed
(SIGKILL) and started again; afterwards every order is terminal, stock is conserved and every approved order
was charged exactly once (tests/faults/harness.py's invariants, read from the services' databases and
Stripe's API through the published ports).
"""

from __future__ import annotations

import json
from functools import partial

from plumbing.services import SERVICE_NAMES
from tests.containers.conftest import System
from tests.faults.harness import Run, begin, check_invariants, during, expected_statuses, restock, settle
from tests.support import wait_for

ORDERS = 60
KILL_AT = (8, 16, 24, 32)
"""How many orders the stream has placed when each service's container is killed (in SERVICE_NAMES order)."""


def _state(system: System, container: str) -> dict[str, object]:
    state: dict[str, object] = json.loads(system.docker("inspect", "--format", "{{json .State}}", container))
    return state


def _healthy(system: System, container: str) -> bool:
    state = _state(system, container)
    health = state.get("Health")
    return bool(state["Running"]) and isinstance(health, dict) and health.get("Status") == "healthy"


def test_every_invariant_holds_when_one_container_of_each_service_is_killed(system: System) -> None:
    for name in SERVICE_NAMES:
        assert len(system.replicas(name)) == 2, f"{name} does not run two replicas"
    # The stream talks to the first replica of orders (its published port); the second of each service is killed.
    victims = {name: str(system.replicas(name)[1].ID) for name in SERVICE_NAMES}
    started = {name: _state(system, container)["StartedAt"] for name, container in victims.items()}
    restock()
    run = begin()

    def kill_each_service_once(run: Run) -> None:
        for moment, name in zip(KILL_AT, SERVICE_NAMES, strict=True):
            run.wait_placed(moment)
            system.docker("kill", victims[name])
        for name, container in victims.items():
            system.docker("start", container)
            wait_for(partial(_healthy, system, container), timeout_s=240, what=f"{name} healthy again")

    during(run, ORDERS, kill_each_service_once)
    again = {name: _state(system, container)["StartedAt"] for name, container in victims.items()}
    assert all(again[name] != started[name] for name in SERVICE_NAMES), "a killed container was not started again"
    orders = settle(run)
    check_invariants(run, orders)

    assert not run.refused, f"the orders replica that was never killed refused orders: {run.refused}"
    assert len(orders) == len(run.accepted) == ORDERS
    assert {o.order_id: o.status for o in orders} == expected_statuses(orders)
    reasons = [o.reason for o in orders if o.status == "REJECTED"]
    assert any("out of stock" in r for r in reasons), reasons
    assert any("payment declined" in r for r in reasons), reasons
