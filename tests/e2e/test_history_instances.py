"""With two coordinators and two catalogs running, every step of a finished saga names the coordinator
instance that applied it, and every reply the participant instance that executed its command: instances
that really ran, each of the two coordinators and the two catalogs among them."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from contracts.base import union_types
from contracts.catalog import CatalogReply
from contracts.orders import OrdersReply
from contracts.payment import PaymentReply
from infra import services
from tests.restocking import set_available
from tests.support import api, place_order, settled_saga, wait_for

SKU = "NES-SMB3"
RUNNING = {"coordinator": {"1", "2"}, "catalog": {"1", "2"}, "payment": {"1"}, "orders": {"1"}}
"""The instances of each service this test runs."""
WRITTEN_BY = {
    **dict.fromkeys(union_types(CatalogReply), "catalog"),
    **dict.fromkeys(union_types(PaymentReply), "payment"),
    **dict.fromkeys(union_types(OrdersReply), "orders"),
}
"""Which participant writes each reply type."""
ROUNDS, PER_ROUND = 5, 8


@pytest.fixture
def second_coordinator_and_catalog() -> Iterator[None]:
    try:
        for name in ("coordinator", "catalog"):
            services.start(name, instance=2)
        for name in ("coordinator", "catalog"):
            services.wait_healthy(name, instance=2)
            wait_for(partial(_both_hold, name), what=f"both {name}s to hold partitions")
        yield
    finally:
        for name in ("catalog", "coordinator"):
            services.stop(name, instance=2)


def _both_hold(service: str) -> bool:
    """Both instances of ``service`` hold partitions (so both apply messages)."""
    for instance in (1, 2):
        answer = services.health_body(service, instance=instance)
        state = answer[1]["consumer_state"] if answer else None
        if not isinstance(state, dict) or not state["partitions"]:
            return False
    return True


def _order(index: int) -> str:
    method = "pm_card_chargeCustomerFail" if index % 4 == 3 else "pm_card_visa"  # some roll back: StockReleased
    response = place_order([(SKU, 1)], payment_method=method)
    assert response.status_code == 202, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def _history(order_id: str) -> list[dict[str, Any]]:
    saga_id = settled_saga(order_id, timeout_s=60)["saga_id"]
    response = api("coordinator").get(f"/sagas/{saga_id}")
    response.raise_for_status()
    saga: dict[str, Any] = response.json()
    assert saga["state"] in ("COMPLETED", "COMPENSATED"), saga
    history: list[dict[str, Any]] = saga["history"]
    return history


def test_every_step_names_instances_that_really_ran(second_coordinator_and_catalog: None) -> None:
    set_available(SKU, 500)
    seen: dict[str, set[str]] = {"coordinator": set(), "catalog": set(), "payment": set(), "orders": set()}
    # Which instance applies a saga's messages follows from the partitions its order and saga ids hash to:
    # rounds of orders until each of the two coordinators and catalogs has taken part (one round nearly always).
    for round_ in range(ROUNDS):
        placed = [_order(round_ * PER_ROUND + i) for i in range(PER_ROUND)]
        for order_id in placed:
            for entry in _history(order_id):
                assert entry["instance"] in RUNNING["coordinator"], (order_id, entry)
                seen["coordinator"].add(entry["instance"])
                if entry["kind"] in ("reply_received", "reply_ignored"):
                    participant = WRITTEN_BY[entry["message_type"]]
                    assert entry["participant_instance"] in RUNNING[participant], (order_id, entry)
                    seen[participant].add(entry["participant_instance"])
                else:
                    assert entry["participant_instance"] is None, (order_id, entry)
        if seen == RUNNING:
            break
    assert seen == RUNNING
