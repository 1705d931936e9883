"""Catalog's use cases against fakes: no PostgreSQL, no Kafka, no HTTP."""

from __future__ import annotations

import uuid

import pytest

from catalog import services
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
    assert uow.products.rows["SNES-CHRONO"].stock == 0


def test_a_reservation_takes_every_line_or_none() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=5), product("NES-ZELDA", stock=1)])
    refused = services.reserve_stock(uow, reserve("o1", ("NES-SMB3", 2), ("NES-ZELDA", 2)), SAGA)
    assert isinstance(refused, StockUnavailable)
    assert refused.sku == "NES-ZELDA"
    assert {sku: p.stock for sku, p in uow.products.rows.items()} == {"NES-SMB3": 5, "NES-ZELDA": 1}
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
    assert uow.products.rows["NES-SMB3"].stock == 3


def test_release_gives_the_stock_back_once() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=5)])
    services.reserve_stock(uow, reserve("o1", ("NES-SMB3", 2)), SAGA)
    assert services.release_stock(uow, ReleaseStock(order_id="o1"), SAGA) == StockReleased(order_id="o1")
    assert services.release_stock(uow, ReleaseStock(order_id="o1"), SAGA) == StockReleased(order_id="o1")
    assert uow.products.rows["NES-SMB3"].stock == 5
    assert uow.reservations.rows["o1"][0].status is ReservationStatus.RELEASED
    assert [e.stock for e in uow.payloads(PRODUCT_EVENTS)] == [3, 5]


def test_a_release_that_overtakes_its_reservation_blocks_it() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=5)])
    assert services.release_stock(uow, ReleaseStock(order_id="o1"), SAGA) == StockReleased(order_id="o1")
    late = services.reserve_stock(uow, reserve("o1", ("NES-SMB3", 2)), SAGA)
    assert late == StockUnavailable(order_id="o1", sku="NES-SMB3", reason="order was cancelled")
    assert uow.products.rows["NES-SMB3"].stock == 5
    assert uow.sent == []


def test_set_stock_commits_the_new_level_and_announces_it() -> None:
    units = catalog(product("NES-SMB3", stock=5))
    changed = services.set_stock(units, "NES-SMB3", 12)
    assert (changed.stock, changed.revision) == (12, 2)
    assert units.uow.products.rows["NES-SMB3"].stock == 12
    assert [(e.sku, e.stock) for e in units.uow.payloads(PRODUCT_EVENTS)] == [("NES-SMB3", 12)]
    assert units.committed == 1


def test_set_stock_of_an_unknown_sku_changes_nothing() -> None:
    units = catalog(product("NES-SMB3", stock=5))
    with pytest.raises(services.UnknownSku, match="NES-NOPE"):
        services.set_stock(units, "NES-NOPE", 3)
    assert (units.committed, units.rolled_back) == (0, 1)
    assert units.uow.sent == []


def test_products_are_read_without_a_commit() -> None:
    units = catalog(product("NES-ZELDA", stock=1), product("NES-SMB3", stock=5))
    assert [p.sku for p in services.list_products(units)] == ["NES-SMB3", "NES-ZELDA"]
    assert services.get_product(units, "NES-ZELDA").stock == 1
    with pytest.raises(services.UnknownSku):
        services.get_product(units, "NES-NOPE")
    assert units.committed == 0


def test_seeding_adds_only_missing_products_and_announces_all() -> None:
    uow = FakeCatalogUnitOfWork([product("NES-SMB3", stock=2)])
    services.seed_catalog(uow)
    assert uow.products.rows["NES-SMB3"].stock == 2  # left as it was
    assert len(uow.products.rows) > 30
    assert sorted(e.sku for e in uow.payloads(PRODUCT_EVENTS)) == sorted(uow.products.rows)
