"""A Stripe outage three times as long as the old give-up time makes orders wait, not fail.

The coordinator runs with its patience scaled down (first re-send after 1 s, at most 3 s between re-sends, a
120 s budget for the charge). With those constants the old policy (5 attempts, doubling, capped) gave up on a
charge after 1 + 2 + 3 + 3 + 3 = 12 s; the emulator stays down until every order's charge has waited three
times that. Afterwards every order is approved, charged exactly once and never refunded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra import localstripe, services
from tests.faults.harness import STREAM_SKUS
from tests.support import (
    gateway_client,
    payment_intents,
    place_order,
    query,
    refunds,
    saga_of,
    settled_order,
    wait_for,
)

pytestmark = pytest.mark.faults

HURRIED = {"RV_SAGA_REPLY_TIMEOUT_S": "1", "RV_SAGA_BACKOFF_MAX_S": "3", "RV_SAGA_CHARGE_BUDGET_S": "120"}
OLD_GIVE_UP_S = 1 + 2 + 3 + 3 + 3
"""When the old policy (5 attempts: 1 s, doubling, at most 3 s) gave up on a charge with these constants."""
OUTAGE_S = 3 * OLD_GIVE_UP_S
ORDERS = 5


def _restart_coordinator(extra_env: dict[str, str] | None = None) -> None:
    services.stop("coordinator")
    services.start("coordinator", extra_env=extra_env)
    services.wait_healthy("coordinator")


def _waited_through_the_outage(order_ids: list[str]) -> list[dict[str, Any]] | None:
    """Every order's saga, once each has waited on payment for ``OUTAGE_S``; fails at once if one gave up."""
    found = [gateway_client().get("/api/sagas", params={"order_id": o}).json()["items"] for o in order_ids]
    if not all(found):
        return None  # a saga not started yet
    sagas = [items[0] for items in found]
    assert all(s["state"] == "RUNNING" for s in sagas), [
        (s["order_id"], s["state"], s["failure_reason"]) for s in sagas
    ]
    long_ago = datetime.now(UTC) - timedelta(seconds=OUTAGE_S)
    waited = [s for s in sagas if s["waiting"] and datetime.fromisoformat(s["waiting_since"]) <= long_ago]
    return sagas if len(waited) == len(sagas) else None


def test_a_stripe_outage_three_times_the_old_give_up_time_makes_orders_wait_not_fail() -> None:
    try:
        _restart_coordinator(HURRIED)
        localstripe.stop()
        try:
            placed = [place_order([(STREAM_SKUS[i % len(STREAM_SKUS)], 1)]) for i in range(ORDERS)]
            assert [r.status_code for r in placed] == [202] * ORDERS
            order_ids = [r.json()["order_id"] for r in placed]
            sagas = wait_for(
                lambda: _waited_through_the_outage(order_ids),
                timeout_s=OUTAGE_S + 60,
                what=f"every charge to wait {OUTAGE_S} s on the emulator",
            )
            for saga in sagas:
                assert (saga["current_step"], saga["waiting_on"], saga["stuck"]) == ("charge_payment", "payment", False)
                assert saga["resends"] >= 5  # the old policy sent a command 5 times in all
                assert saga["failure_reason"] is None and saga["gives_up_at"] is not None
            customer = gateway_client("customer", "customer-test")  # place_order's customer reads their orders
            orders = [customer.get(f"/api/orders/{order_id}").json() for order_id in order_ids]
            assert [o["status"] for o in orders] == ["PENDING"] * ORDERS
        finally:
            localstripe.start()
        for order_id in order_ids:
            assert settled_order(order_id, timeout_s=90)["status"] == "APPROVED"
    finally:
        _restart_coordinator()

    for order_id in order_ids:
        assert saga_of(order_id)["state"] == "COMPLETED"
        (intent,) = payment_intents(order_id)
        assert intent.status == "succeeded" and refunds(intent.id) == []
        (payment,) = query("payment", "SELECT status FROM payments WHERE order_id = :o", o=order_id)
        assert payment.status == "SUCCEEDED"
    refund_commands = query(
        "coordinator",
        "SELECT count(*) AS n FROM saga_history h JOIN sagas s USING (saga_id) "
        "WHERE s.order_id = ANY(:ids) AND h.action = 'refund_payment'",
        ids=order_ids,
    )
    assert refund_commands[0].n == 0
