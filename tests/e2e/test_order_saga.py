"""The order saga end to end: real HTTP, Kafka, PostgreSQL and the Stripe emulator."""

from __future__ import annotations

from tests.restocking import set_available
from tests.support import (
    api,
    payment_intents,
    place_order,
    query,
    settled_order,
    settled_saga,
    stock,
)


def test_a_paid_order_is_approved_charged_once_and_takes_stock() -> None:
    before_smw, before_dkc = stock("SNES-SMW"), stock("SNES-DKC")
    response = place_order([("SNES-SMW", 2), ("SNES-DKC", 1)], "pm_card_visa")
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "PENDING"
    assert response.headers["location"] == f"/orders/{accepted['order_id']}"

    order = settled_order(accepted["order_id"])
    assert order["status"] == "APPROVED" and order["reason"] is None
    saga = settled_saga(accepted["order_id"])
    assert saga["state"] == "COMPLETED"
    assert [h["action"] for h in saga["history"] if h["kind"] == "command_sent"] == [
        "reserve_stock",
        "charge_payment",
        "approve_order",
    ]
    assert stock("SNES-SMW") == before_smw - 2
    assert stock("SNES-DKC") == before_dkc - 1
    intents = payment_intents(accepted["order_id"])
    succeeded = [pi for pi in intents if pi.status == "succeeded"]
    assert len(succeeded) == 1
    assert succeeded[0].amount == order["total_cents"] == 2 * 4499 + 2999
    assert succeeded[0].currency == "usd"
    payment = api("payment").get(f"/payments/{accepted['order_id']}").json()
    assert payment["status"] == "SUCCEEDED" and payment["intent_id"] == succeeded[0].id
    assert payment["amount_cents"] == order["total_cents"] and payment["refund_id"] is None


def test_a_declined_card_rejects_the_order_and_gives_the_stock_back() -> None:
    before = stock("N64-SM64")
    accepted = place_order([("N64-SM64", 3)], "pm_card_chargeCustomerFail").json()
    order = settled_order(accepted["order_id"])
    assert order["status"] == "REJECTED"
    assert "payment" in order["reason"] and "declined" in order["reason"]
    saga = settled_saga(accepted["order_id"])
    assert saga["state"] == "COMPENSATED"
    assert [h["action"] for h in saga["history"] if h["kind"] == "command_sent"] == [
        "reserve_stock",
        "charge_payment",
        "release_stock",
        "reject_order",
    ]
    assert stock("N64-SM64") == before
    assert all(pi.status != "succeeded" for pi in payment_intents(accepted["order_id"]))
    payment = api("payment").get(f"/payments/{accepted['order_id']}").json()
    assert payment["status"] == "DECLINED" and payment["decline_reason"]
    assert api("payment").get("/payments/no-such-order").status_code == 404


def _scarce(sku: str, units: int) -> int:
    """Put few units on the shelf (an earlier run, e.g. the benchmark, may have restocked it a lot)."""
    set_available(sku, units)
    return units


def test_out_of_stock_rejects_without_charging_and_leaves_stock_alone() -> None:
    available = _scarce("SNES-EARTHBOUND", 8)
    accepted = place_order([("SNES-EARTHBOUND", available + 1)]).json()
    order = settled_order(accepted["order_id"])
    assert order["status"] == "REJECTED"
    assert "out of stock" in order["reason"] and "SNES-EARTHBOUND" in order["reason"]
    assert settled_saga(accepted["order_id"])["state"] == "COMPENSATED"
    assert stock("SNES-EARTHBOUND") == available
    assert payment_intents(accepted["order_id"]) == []


def test_one_short_line_reserves_nothing_of_the_others() -> None:
    available_gunstar = _scarce("GEN-GUNSTAR", 10)
    before_tetris, before_sonic = stock("GB-TETRIS"), stock("GEN-SONIC2")
    accepted = place_order([("GB-TETRIS", 1), ("GEN-GUNSTAR", available_gunstar + 1), ("GEN-SONIC2", 2)]).json()
    order = settled_order(accepted["order_id"])
    assert order["status"] == "REJECTED" and "GEN-GUNSTAR" in order["reason"]
    assert (stock("GB-TETRIS"), stock("GEN-SONIC2"), stock("GEN-GUNSTAR")) == (
        before_tetris,
        before_sonic,
        available_gunstar,
    )
    reservations = query("catalog", "SELECT * FROM reservations WHERE order_id = :o", o=accepted["order_id"])
    assert reservations == []
    assert settled_saga(accepted["order_id"])["state"] == "COMPENSATED"


def test_the_saga_and_the_order_agree_in_each_service_database() -> None:
    accepted = place_order([("PS1-MGS", 1)]).json()
    settled_saga(accepted["order_id"])
    (order_row,) = query("orders", "SELECT status FROM orders WHERE order_id = :o", o=accepted["order_id"])
    (saga_row,) = query("coordinator", "SELECT state, version FROM sagas WHERE order_id = :o", o=accepted["order_id"])
    (payment_row,) = query("payment", "SELECT status FROM payments WHERE order_id = :o", o=accepted["order_id"])
    (reservation,) = query("catalog", "SELECT status FROM reservations WHERE order_id = :o", o=accepted["order_id"])
    assert (order_row.status, saga_row.state, payment_row.status, reservation.status) == (
        "APPROVED",
        "COMPLETED",
        "SUCCEEDED",
        "RESERVED",
    )
    assert saga_row.version == 4  # created, then one compare-and-set per reply
