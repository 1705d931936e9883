"""Catalog's HTTP API in process, over fake units of work: stock figures, revisions, adjustments and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalog.bootstrap import HTTP_API
from tests.unit.catalog.fakes import FakeCatalogUnitOfWork, catalog, product
from tests.unit.fakes import FakeUnitsOfWork
from tests.unit.http import Client, client_for

Units = FakeUnitsOfWork[FakeCatalogUnitOfWork]


@pytest.fixture
def units() -> Units:
    return catalog(product("NES-SMB3", stock=5, reserved=2))


@pytest.fixture
def client(units: Units) -> Iterator[Client]:
    with client_for(HTTP_API, units) as client:
        yield client


def problem_of(response: Any) -> tuple[int, str, str]:
    """Status, the field a problem+json names, and its message."""
    assert response.headers["content-type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    return response.status_code, error["field"], error["message"]


def test_a_product_shows_its_three_figures_and_its_revision_as_etag(client: Client) -> None:
    response = client.get("/products/NES-SMB3")
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    shown = response.json()
    assert {k: shown[k] for k in ("stock", "on_hand", "reserved", "available", "revision")} == {
        "stock": 5,
        "on_hand": 7,
        "reserved": 2,
        "available": 5,
        "revision": 1,
    }
    assert client.get("/products").json() == [shown]


def test_an_adjustment_answers_201_with_the_new_figures_and_is_listed(client: Client) -> None:
    response = client.post("/products/NES-SMB3/stock-adjustments", json={"delta": 3, "reason": "delivery"})
    assert response.status_code == 201
    assert response.headers["etag"] == '"2"'
    assert [response.json()[k] for k in ("on_hand", "reserved", "available", "stock")] == [10, 2, 8, 8]
    client.post("/products/NES-SMB3/stock-adjustments", json={"delta": -1, "reason": "broken box"})
    listed = client.get("/stock-adjustments", params={"sku": "NES-SMB3", "limit": 5}).json()
    assert [(a["delta"], a["reason"], a["on_hand_after"]) for a in listed] == [
        (-1, "broken box", 9),
        (3, "delivery", 10),
    ]
    assert all(a["at"] for a in listed)


def test_a_change_to_stock_records_who_made_it(client: Client) -> None:
    gateway = {"X-Authenticated-Subject": "demo-operator", "X-Operator": "cli:mallory"}
    client.post("/products/NES-SMB3/stock-adjustments", json={"delta": 1, "reason": "found one"}, headers=gateway)
    tool = {"X-Operator": "cli:ops", "If-Match": '"2"'}
    assert client.put("/products/NES-SMB3/stock", json={"stock": 9}, headers=tool).status_code == 200
    client.post("/products/NES-SMB3/stock-adjustments", json={"delta": 1, "reason": "another"})
    listed = client.get("/stock-adjustments", params={"sku": "NES-SMB3"}).json()
    assert [a["adjusted_by"] for a in listed] == ["direct", "cli:ops", "demo-operator"]
    bad = client.post(
        "/products/NES-SMB3/stock-adjustments", json={"delta": 1, "reason": "x"}, headers={"X-Operator": "a b"}
    )
    assert problem_of(bad)[:2] == (400, "X-Operator")


def test_an_adjustment_that_would_erase_a_reservation_is_409_naming_delta(client: Client, units: Units) -> None:
    response = client.post("/products/NES-SMB3/stock-adjustments", json={"delta": -6, "reason": "count"})
    assert problem_of(response)[:2] == (409, "delta")
    assert "would leave 1 on hand for 2 reserved" in problem_of(response)[2]
    assert (units.uow.products.rows["NES-SMB3"].on_hand, units.uow.adjustments.rows) == (7, [])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delta": 0, "reason": "nothing"}, "delta"),
        ({"delta": 1_000_001, "reason": "too many"}, "delta"),
        ({"delta": "3", "reason": "a string"}, "delta"),
        ({"delta": 1, "reason": ""}, "reason"),
        ({"delta": 1, "reason": "   "}, "reason"),
        ({"delta": 1, "reason": "nul\x00byte"}, "reason"),
        ({"delta": 1, "reason": "x" * 201}, "reason"),
        ({"delta": 1}, "reason"),
        ({"delta": 1, "reason": "ok", "extra": 1}, "extra"),
    ],
)
def test_a_bad_adjustment_is_400_naming_its_field(client: Client, units: Units, body: Any, field: str) -> None:
    response = client.post("/products/NES-SMB3/stock-adjustments", json=body)
    assert problem_of(response)[:2] == (400, field)
    assert units.uow.adjustments.rows == []


def test_setting_stock_without_if_match_is_428(client: Client, units: Units) -> None:
    response = client.put("/products/NES-SMB3/stock", json={"stock": 10})
    assert problem_of(response)[:2] == (428, "If-Match")
    assert units.uow.products.rows["NES-SMB3"].on_hand == 7


def test_setting_stock_with_a_stale_revision_is_412(client: Client, units: Units) -> None:
    client.post("/products/NES-SMB3/stock-adjustments", json={"delta": 1, "reason": "found one"})
    response = client.put("/products/NES-SMB3/stock", json={"stock": 10}, headers={"If-Match": '"1"'})
    assert problem_of(response) == (412, "If-Match", "NES-SMB3 is at revision 2, not 1: read it again")
    assert units.uow.products.rows["NES-SMB3"].on_hand == 8


@pytest.mark.parametrize("if_match", ["1", 'W/"1"', "*", '"one"', '"1", "2"'])
def test_an_if_match_that_is_not_one_revision_is_400(client: Client, if_match: str) -> None:
    response = client.put("/products/NES-SMB3/stock", json={"stock": 10}, headers={"If-Match": if_match})
    assert problem_of(response)[:2] == (400, "If-Match")


def test_setting_stock_with_the_current_revision_sets_available_and_keeps_reservations(
    client: Client, units: Units
) -> None:
    etag = client.get("/products/NES-SMB3").headers["etag"]
    response = client.put("/products/NES-SMB3/stock", json={"stock": 0}, headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    assert [response.json()[k] for k in ("on_hand", "reserved", "available", "revision")] == [2, 2, 0, 2]
    (recorded,) = units.uow.adjustments.rows
    assert (recorded.delta, recorded.reason) == (-5, "count: 0 available")


@pytest.mark.parametrize("params", [{"sku": "nes-smb3"}, {"sku": "NES\x00"}, {"sku": "A" * 33}, {"limit": 101}])
def test_a_bad_adjustments_filter_is_400_naming_it(client: Client, params: dict[str, Any]) -> None:
    assert problem_of(client.get("/stock-adjustments", params=params))[:2] == (400, next(iter(params)))


@pytest.mark.parametrize("sku", ["NES%00", "nes-smb3", "A" * 33])
def test_a_path_that_cannot_be_a_sku_is_400_naming_it(client: Client, sku: str) -> None:
    assert problem_of(client.get(f"/products/{sku}"))[:2] == (400, "sku")
    adjusted = client.post(f"/products/{sku}/stock-adjustments", json={"delta": 1, "reason": "x"})
    assert problem_of(adjusted)[:2] == (400, "sku")
    counted = client.put(f"/products/{sku}/stock", json={"stock": 1}, headers={"If-Match": '"1"'})
    assert problem_of(counted)[:2] == (400, "sku")


def test_unknown_skus_are_404_and_have_no_adjustments(client: Client) -> None:
    assert client.get("/stock-adjustments", params={"sku": "NOPE"}).json() == []
    assert client.post("/products/NOPE/stock-adjustments", json={"delta": 1, "reason": "x"}).status_code == 404
    assert client.put("/products/NOPE/stock", json={"stock": 1}, headers={"If-Match": '"1"'}).status_code == 404
