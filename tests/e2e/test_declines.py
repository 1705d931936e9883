"""A payment method Stripe does not know is Stripe's answer, not a poison message: the order is REJECTED within
seconds with Stripe's reason, its stock comes back, nothing is charged and nothing is dead-lettered."""

from __future__ import annotations

import base64
import uuid

import pytest
import stripe

from tests.support import (
    api,
    payment_intents,
    place_order,
    settled_order,
    settled_saga,
    stock,
    stripe_client,
)


def _stripes_refusal(payment_method: str) -> stripe.InvalidRequestError:
    """What Stripe (or its emulator) answers when asked for an intent with ``payment_method``: creates nothing."""
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client().v1.payment_intents.create(
            params={"amount": 100, "currency": "usd", "payment_method": payment_method}
        )
    return refused.value


def _dead_letters_about(order_id: str) -> list[dict[str, str]]:
    """Dead letters whose original message names the order (every saga message carries its order id)."""
    letters = api("coordinator").get("/dead-letters", params={"limit": 1000}).json()
    return [d for d in letters if order_id.encode() in base64.b64decode(d["value"])]


def test_an_unknown_payment_method_rejects_the_order_within_seconds_and_gives_the_stock_back() -> None:
    method = f"pm_{uuid.uuid4().hex}"
    refusal = _stripes_refusal(method)
    before = stock("GB-POKEMONRED")

    response = place_order([("GB-POKEMONRED", 2)], method)
    assert response.status_code == 202
    order_id = response.json()["order_id"]

    order = settled_order(order_id, timeout_s=20)  # one try, no timeouts: Stripe answered at once
    assert order["status"] == "REJECTED"
    assert refusal.user_message and refusal.user_message in order["reason"]
    assert f"({refusal.code or f'HTTP {refusal.http_status}'})" in order["reason"]
    saga = settled_saga(order_id, timeout_s=20)
    assert saga["state"] == "COMPENSATED"
    assert [h["action"] for h in saga["history"] if h["kind"] == "command_sent"] == [
        "reserve_stock",
        "charge_payment",
        "release_stock",
        "reject_order",
    ]
    assert stock("GB-POKEMONRED") == before
    payment = api("payment").get(f"/payments/{order_id}").json()
    assert (payment["status"], payment["intent_id"], payment["refund_id"]) == ("DECLINED", None, None)
    assert payment["decline_code"] == refusal.code
    assert f"payment declined: {payment['decline_reason']}" in order["reason"]
    assert payment_intents(order_id) == []  # Stripe created no intent: nothing was or could be charged
    assert _dead_letters_about(order_id) == []


def test_a_card_with_insufficient_funds_rejects_the_order_with_stripes_reason_and_charges_nothing() -> None:
    before = stock("GB-POKEMONRED")
    response = place_order([("GB-POKEMONRED", 1)], "pm_card_visa_chargeDeclinedInsufficientFunds")
    assert response.status_code == 202
    order_id = response.json()["order_id"]

    order = settled_order(order_id, timeout_s=20)
    assert (order["status"], order["reason"]) == ("REJECTED", "payment declined: Your card has insufficient funds.")
    assert settled_saga(order_id, timeout_s=20)["state"] == "COMPENSATED"
    assert stock("GB-POKEMONRED") == before
    payment = api("payment").get(f"/payments/{order_id}").json()
    assert (payment["status"], payment["refund_id"]) == ("DECLINED", None)
    assert [intent["status"] for intent in payment_intents(order_id)] == ["requires_payment_method"]
    assert _dead_letters_about(order_id) == []
