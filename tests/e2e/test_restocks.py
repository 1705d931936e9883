"""Restocks against reservations on the real stack: units are conserved, and no restock erases a reservation.

Operators change a product's units on hand with relative adjustments (``POST /products/{sku}/stock-adjustments``)
or with a count that names the revision it was made against (``PUT /products/{sku}/stock`` with ``If-Match``);
orders reserve units through their sagas at the same moment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar, cast

import httpx

from tests.restocking import set_available
from tests.support import api, place_order, query, settled_order, wait_for

SKU = "NES-PUNCHOUT"  # no other test orders it
FIGURES = ("on_hand", "reserved", "available", "stock", "revision")
CYCLE = (3, -2, 2, -3)
"""Each restocker's deltas, over and over: as many units taken away as brought, so removals meet reservations."""
T = TypeVar("T")


def product() -> dict[str, Any]:
    """The product as catalog's API shows it, with its ETag."""
    response = api("catalog").get(f"/products/{SKU}")
    response.raise_for_status()
    shown: dict[str, Any] = response.json()
    assert response.headers["etag"] == f'"{shown["revision"]}"'
    return shown


def adjust(delta: int, reason: str) -> httpx.Response:
    """``POST /products/{sku}/stock-adjustments``."""
    return api("catalog").post(f"/products/{SKU}/stock-adjustments", json={"delta": delta, "reason": reason})


def count(units: int, etag: str | None) -> httpx.Response:
    """``PUT /products/{sku}/stock``, conditional on ``etag`` when given."""
    headers = {"If-Match": etag} if etag is not None else {}
    return api("catalog").put(f"/products/{SKU}/stock", json={"stock": units}, headers=headers)


def all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call on its own thread, all released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def units_held_by_reservations() -> int:
    """Units of the sku in catalog's held (``RESERVED``) reservations, from its database."""
    (row,) = query(
        "catalog",
        "SELECT coalesce(sum((line ->> 1)::integer), 0) AS units FROM reservations, jsonb_array_elements(lines) AS line"
        " WHERE status = 'RESERVED' AND line ->> 0 = :sku",
        sku=SKU,
    )
    return int(row.units)


def recorded_since(last_id: int) -> list[tuple[int, str]]:
    """The sku's adjustments recorded after ``last_id``, from catalog's database: (delta, reason), sorted."""
    rows = query("catalog", "SELECT delta, reason FROM stock_adjustments WHERE sku = :s AND id > :i", s=SKU, i=last_id)
    return sorted((row.delta, row.reason) for row in rows)


def last_adjustment_id() -> int:
    """The newest adjustment id of any product, from catalog's database (0 when there is none)."""
    return int(query("catalog", "SELECT coalesce(max(id), 0) AS id FROM stock_adjustments")[0].id)


def test_concurrent_restocks_and_reservations_conserve_every_unit() -> None:
    set_available(SKU, 4)
    before, last_id = product(), last_adjustment_id()
    cards = ["pm_card_visa"] * 12 + ["pm_card_chargeCustomerFail"] * 4
    decided: list[tuple[str, dict[str, Any]]] = []

    def buyer(card: str, customer: str) -> None:
        placed = place_order([(SKU, 1)], card, customer=customer)  # one customer each: the gateway limits bursts
        assert placed.status_code == 202, placed.text
        decided.append((card, settled_order(placed.json()["order_id"], timeout_s=120)))

    def restocker(name: str) -> list[tuple[int, str, httpx.Response]]:
        """Adjust until every order is decided, so restocks run while the sagas reserve (bounded all the same)."""
        done: list[tuple[int, str, httpx.Response]] = []
        while len(decided) < len(cards) and len(done) < 400:
            delta, reason = CYCLE[len(done) % len(CYCLE)], f"{name}.{len(done)}"
            done.append((delta, reason, adjust(delta, reason)))
        return done

    everyone: list[Callable[[], object]] = [
        *(partial(restocker, f"restock {i}") for i in range(6)),
        *(partial(buyer, card, f"buyer-{i}") for i, card in enumerate(cards)),
    ]
    adjusted = [one for done in all_at_once(everyone)[:6] for one in cast(list[tuple[int, str, httpx.Response]], done)]

    accepted = [(delta, reason) for delta, reason, response in adjusted if response.status_code == 201]
    for delta, _, response in adjusted:
        if response.status_code != 201:  # only a removal can be refused, and only for taking reserved units
            assert (delta < 0, response.status_code) == (True, 409), response.text
            assert response.json()["errors"][0]["field"] == "delta"
            assert "a restock cannot take reserved units" in response.json()["errors"][0]["message"]
    assert recorded_since(last_id) == sorted(accepted)

    assert len(decided) == len(cards)
    for card, order in decided:
        if order["status"] == "APPROVED":
            assert card == "pm_card_visa"
        else:
            assert order["status"] == "REJECTED"
            assert "out of stock" in order["reason"] or (card != "pm_card_visa" and "declined" in order["reason"])
    approved = sum(order["status"] == "APPROVED" for _, order in decided)
    after = product()
    assert after["on_hand"] == before["on_hand"] + sum(delta for delta, _ in accepted)
    assert after["reserved"] == before["reserved"] + approved == units_held_by_reservations()
    assert after["available"] == after["stock"] == after["on_hand"] - after["reserved"] >= 0
    assert approved <= before["available"] + sum(delta for delta, _ in accepted)  # no order oversold
    (row,) = query("catalog", "SELECT on_hand, reserved, stock FROM products WHERE sku = :s", s=SKU)
    assert (row.on_hand, row.reserved, row.stock) == (after["on_hand"], after["reserved"], after["available"])
    wait_for(
        lambda: query("orders", "SELECT stock FROM product_view WHERE sku = :s", s=SKU)[0].stock == after["available"],
        what="orders' product view to see the units available",
    )

    # A count sets what is available; the reserved units stay held on top of it.
    emptied = count(0, f'"{after["revision"]}"')
    assert emptied.status_code == 200, emptied.text
    assert [emptied.json()[k] for k in ("on_hand", "reserved", "available")] == [
        after["reserved"],
        after["reserved"],
        0,
    ]
    refused_removal = adjust(-1, "one too many")
    assert refused_removal.status_code == 409 and refused_removal.json()["errors"][0]["field"] == "delta"
    assert {k: product()[k] for k in FIGURES} == {k: emptied.json()[k] for k in FIGURES}


def test_a_count_with_a_stale_revision_is_412_and_changes_nothing() -> None:
    read = api("catalog").get(f"/products/{SKU}")
    delivered = adjust(5, "delivery between a read and a count")
    assert delivered.status_code == 201
    latest_before = api("catalog").get("/stock-adjustments", params={"sku": SKU, "limit": 1}).json()

    stale = count(100, read.headers["etag"])
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["errors"][0]["field"] == "If-Match"
    missing = count(100, None)
    assert missing.status_code == 428 and missing.json()["errors"][0]["field"] == "If-Match"

    assert product() == delivered.json()
    assert api("catalog").get("/stock-adjustments", params={"sku": SKU, "limit": 1}).json() == latest_before


def test_counts_made_against_one_revision_apply_once() -> None:
    etag, last_id = api("catalog").get(f"/products/{SKU}").headers["etag"], last_adjustment_id()
    values = [10, 11, 12, 13, 14, 15]
    responses = all_at_once([partial(count, v, etag) for v in values])
    assert sorted(r.status_code for r in responses) == [200] + [412] * (len(values) - 1)
    (winner,) = [v for v, r in zip(values, responses, strict=True) if r.status_code == 200]
    assert product()["available"] == winner
    assert [reason for _, reason in recorded_since(last_id)] == [f"count: {winner} available"]
