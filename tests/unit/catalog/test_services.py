"""Catalog's use cases against fakes: no PostgreSQL, no Kafka, no HTTP."""

from __future__ import annotations

import uuid

import pytest

from catalog import services
from catalog.domain.products import StaleRevision, StockChangeRefused
from catalog.domain.reservations import ReservationStatus
from contracts.base import Line
from contracts.catalog import (
    ProductChanged,
    ReleaseStock,
    ReserveStock,
    StockReleased,
    StockReserved,
    StockUnavailable,
)
from contracts.topics import PRODUCT_EVENTS
from tests.unit.catalog.fakes import FakeCatalogUnitOfWork, catalog, product

SAGA = uuid.uuid4()


def reserve(order_id: str, *lines: tuple[str, int]) -> ReserveStock:
    return ReserveStock(order_id=order_id, lines=[Line(sku=sku, quantity=qty) for sku, qty in lines])


def test_the_last_unit_goes_to_one_order_only() -> None:
    uow = FakeCatalogUnitOfWork([product("SNES-CHRONO", stock=1)])
    assert services.reserve_stock(uow, reserve("o1", ("SNES-CHRONO", 1)), SAGA) == StockReserved(order_id="o1")
    refused = services.reserve_stock(uow, reserve("o2", ("SNES-CHRONO", 1)), SAGA)
    assert isinstance(refused, StockUnavailable)
    assert (refused.order_id, refused.sku) == ("o2", "SNES-CHRONO")
    assert (uow.products.rows["SNES-CHRONO"].available, uow.products.rows["SNES-CHRONO"].reserved) == (0, 1)


def test_a_reservation_takes_every_line_or_none() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=5), product("NES-ZELDA", stock=1)])
    refused = services.reserve_stock(uow, reserve("o1", ("NES-SMB3", 2), ("NES-ZELDA", 2)), SAGA)
    assert isinstance(refused, StockUnavailable)
    assert refused.sku == "NES-ZELDA"
    assert {sku: (p.available, p.reserved) for sku, p in uow.products.rows.items()} == {
        "NES-SMB3": (5, 0),
        "NES-ZELDA": (1, 0),
    }
    assert uow.sent == []
    assert uow.reservations.rows == {}


def test_a_reservation_locks_its_skus_in_order_and_announces_each_change() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=5), product("NES-ZELDA", stock=3)])
    services.reserve_stock(uow, reserve("o1", ("NES-ZELDA", 1), ("NES-SMB3", 2)), SAGA)
    assert uow.products.locked == [["NES-SMB3", "NES-ZELDA"]]
    changed = uow.payloads(PRODUCT_EVENTS)
    assert [(e.sku, e.stock, e.revision) for e in changed] == [("NES-SMB3", 3, 2), ("NES-ZELDA", 2, 2)]
    assert all(isinstance(e, ProductChanged) for e in changed)
    saved, saga_id = uow.reservations.rows["o1"]
    assert (saved.lines, saved.status, saga_id) == (
        [("NES-SMB3", 2), ("NES-ZELDA", 1)],
        ReservationStatus.RESERVED,
        SAGA,
    )


def test_a_repeated_reservation_takes_stock_once_and_answers_the_same() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=5)])
    first = services.reserve_stock(uow, reserve("o1", ("NES-SMB3", 2)), SAGA)
    again = services.reserve_stock(uow, reserve("o1", ("NES-SMB3", 2)), SAGA)
    assert first == again == StockReserved(order_id="o1")
    assert (uow.products.rows["NES-SMB3"].available, uow.products.rows["NES-SMB3"].reserved) == (3, 2)


def test_release_gives_the_stock_back_once() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=5)])
    services.reserve_stock(uow, reserve("o1", ("NES-SMB3", 2)), SAGA)
    assert services.release_stock(uow, ReleaseStock(order_id="o1"), SAGA) == StockReleased(order_id="o1")
    assert services.release_stock(uow, ReleaseStock(order_id="o1"), SAGA) == StockReleased(order_id="o1")
    assert (uow.products.rows["NES-SMB3"].available, uow.products.rows["NES-SMB3"].reserved) == (5, 0)
    assert uow.reservations.rows["o1"][0].status is ReservationStatus.RELEASED
    assert [e.stock for e in uow.payloads(PRODUCT_EVENTS)] == [3, 5]


def test_a_release_that_overtakes_its_reservation_blocks_it() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=5)])
    assert services.release_stock(uow, ReleaseStock(order_id="o1"), SAGA) == StockReleased(order_id="o1")
    late = services.reserve_stock(uow, reserve("o1", ("NES-SMB3", 2)), SAGA)
    assert late == StockUnavailable(order_id="o1", sku="NES-SMB3", reason="order was cancelled")
    assert (uow.products.rows["NES-SMB3"].available, uow.products.rows["NES-SMB3"].reserved) == (5, 0)
    assert uow.sent == []


def test_an_adjustment_is_recorded_committed_and_announced() -> None:
    units = catalog(product("NES-SMB3", stock=5, reserved=2))
    changed = services.adjust_stock(units, "NES-SMB3", 10, "delivery 1234")
    assert (changed.on_hand, changed.reserved, changed.available, changed.revision) == (17, 2, 15, 2)
    assert units.uow.products.rows["NES-SMB3"] == changed
    assert [(a.sku, a.delta, a.reason, a.on_hand_after) for a in units.uow.adjustments.rows] == [
        ("NES-SMB3", 10, "delivery 1234", 17)
    ]
    assert [(e.sku, e.stock, e.revision) for e in units.uow.payloads(PRODUCT_EVENTS)] == [("NES-SMB3", 15, 2)]
    assert units.committed == 1


def test_an_adjustment_that_would_take_reserved_units_changes_nothing() -> None:
    units = catalog(product("NES-SMB3", stock=1, reserved=2))
    with pytest.raises(StockChangeRefused):
        services.adjust_stock(units, "NES-SMB3", -2, "breakage")
    saved = units.uow.products.rows["NES-SMB3"]
    assert (saved.on_hand, saved.reserved, saved.revision) == (3, 2, 1)
    assert (units.uow.adjustments.rows, units.uow.sent, units.rolled_back) == ([], [], 1)


def test_a_count_sets_what_is_available_on_top_of_the_reservations() -> None:
    units = catalog(product("NES-SMB3", stock=5, reserved=2))
    changed = services.set_available(units, "NES-SMB3", 12, revision=1)
    assert (changed.on_hand, changed.reserved, changed.available, changed.revision) == (14, 2, 12, 2)
    assert units.uow.products.rows["NES-SMB3"] == changed
    assert [(a.delta, a.reason, a.on_hand_after) for a in units.uow.adjustments.rows] == [
        (7, "count: 12 available", 14)
    ]
    assert [(e.sku, e.stock) for e in units.uow.payloads(PRODUCT_EVENTS)] == [("NES-SMB3", 12)]
    assert units.committed == 1


def test_a_count_made_against_an_old_revision_changes_nothing() -> None:
    units = catalog(product("NES-SMB3", stock=5))
    services.adjust_stock(units, "NES-SMB3", 1, "found one")
    with pytest.raises(StaleRevision):
        services.set_available(units, "NES-SMB3", 12, revision=1)
    assert units.uow.products.rows["NES-SMB3"].on_hand == 6
    assert len(units.uow.adjustments.rows) == 1
    assert [e.stock for e in units.uow.payloads(PRODUCT_EVENTS)] == [6]


def test_changing_stock_of_an_unknown_sku_changes_nothing() -> None:
    units = catalog(product("NES-SMB3", stock=5))
    with pytest.raises(services.UnknownSku, match="NES-NOPE"):
        services.set_available(units, "NES-NOPE", 3, revision=1)
    with pytest.raises(services.UnknownSku, match="NES-NOPE"):
        services.adjust_stock(units, "NES-NOPE", 3, "delivery")
    assert (units.committed, units.rolled_back) == (0, 2)
    assert (units.uow.sent, units.uow.adjustments.rows) == ([], [])


def test_adjustments_are_listed_newest_first() -> None:
    units = catalog(product("NES-SMB3", stock=5), product("NES-ZELDA", stock=1))
    for delta in (1, 2, 3):
        services.adjust_stock(units, "NES-SMB3", delta, f"delivery {delta}")
    services.adjust_stock(units, "NES-ZELDA", 4, "other")
    assert [a.delta for a in services.stock_adjustments(units, "NES-SMB3", 2)] == [3, 2]
    assert [a.delta for a in services.stock_adjustments(units, None, 3)] == [4, 3, 2]
    assert services.stock_adjustments(units, "NES-NOPE", 2) == []
    assert units.committed == 4


def test_products_are_read_without_a_commit() -> None:
    units = catalog(product("NES-ZELDA", stock=1), product("NES-SMB3", stock=5))
    assert [p.sku for p in services.list_products(units)] == ["NES-SMB3", "NES-ZELDA"]
    assert services.get_product(units, "NES-ZELDA").available == 1
    with pytest.raises(services.UnknownSku):
        services.get_product(units, "NES-NOPE")
    assert units.committed == 0


def test_seeding_adds_only_missing_products_and_announces_all() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=2)])
    services.seed_catalog(uow)
    assert uow.products.rows["NES-SMB3"].on_hand == 2  # left as it was
    assert len(uow.products.rows) > 30
    assert sorted(e.sku for e in uow.payloads(PRODUCT_EVENTS)) == sorted(uow.products.rows)
