"""The coordinator's saga API and the catalog's product API, as a client sees them."""

from __future__ import annotations

import uuid

from tests.support import api, place_order, settled_saga


def test_a_saga_is_found_by_id_and_by_order_with_its_history() -> None:
    order_id = place_order([("NES-ZELDA", 1)]).json()["order_id"]
    saga = settled_saga(order_id)
    by_id = api("coordinator").get(f"/sagas/{saga['saga_id']}").json()
    assert by_id["order_id"] == order_id and by_id["state"] == "COMPLETED" and by_id["current_step"] is None
    kinds = [(h["kind"], h["action"], h["message_type"]) for h in by_id["history"]]
    assert ("command_sent", "charge_payment", "ChargePayment") in kinds
    assert ("reply_received", "charge_payment", "PaymentSucceeded") in kinds
    assert by_id["data"]["payment_intent_id"].startswith("pi_")
    newest = api("coordinator").get("/sagas", params={"state": "COMPLETED", "limit": 500}).json()["items"]
    assert saga["saga_id"] in [s["saga_id"] for s in newest]
    assert all(s["state"] == "COMPLETED" for s in newest)


def test_unknown_sagas_and_bad_filters_are_problems() -> None:
    missing = api("coordinator").get(f"/sagas/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad_state = api("coordinator").get("/sagas", params={"state": "DONE"})
    assert bad_state.status_code == 400
    assert bad_state.headers["content-type"].startswith("application/problem+json")
    bad_limit = api("coordinator").get("/sagas", params={"limit": 0})
    assert bad_limit.status_code == 400


def test_products_are_listed_and_unknown_ones_are_404() -> None:
    products = api("catalog").get("/products").json()
    assert len(products) >= 30
    assert {"sku", "title", "platform", "release_year", "price_cents", "stock"} <= set(products[0])
    assert api("catalog").get("/products/NOPE-1").status_code == 404


def test_setting_stock_validates_its_body() -> None:
    response = api("catalog").put("/products/NES-ZELDA/stock", json={"stock": -1})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "stock"
