"""Catalog applies a batch of stock commands with all their rows locked up front, in one order, against fakes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from catalog.domain.products import InsufficientStock
from catalog.domain.reservations import ReservationStatus
from catalog.entrypoints.messages import ROUTES, STOCK_COMMANDS
from contracts.base import Line
from contracts.catalog import ReleaseStock, ReserveStock, StockReleased, StockReserved, StockUnavailable
from contracts.envelope import Envelope
from contracts.topics import CATALOG_COMMANDS, PRODUCT_EVENTS
from tests.unit.catalog.fakes import FakeCatalogUnitOfWork, product
from tests.unit.fakes import command


def reserve(order_id: str, *lines: tuple[str, int]) -> Envelope[Any]:
    return command(ReserveStock(order_id=order_id, lines=[Line(sku=s, quantity=q) for s, q in lines]))


def release(order_id: str) -> Envelope[Any]:
    return command(ReleaseStock(order_id=order_id))


def apply_batch(uow: FakeCatalogUnitOfWork, batch: list[Envelope[Any]]) -> None:
    """Apply ``batch`` as the consumer does, recording each command's scope in ``uow.calls``."""

    @contextmanager
    def scope(envelope: Envelope[Any]) -> Iterator[None]:
        uow.calls.append(f"scope {envelope.payload.order_id}")
        yield

    STOCK_COMMANDS.many(uow, batch, scope)


def test_both_commands_share_one_batched_handler() -> None:
    assert set(ROUTES[CATALOG_COMMANDS.name].values()) == {STOCK_COMMANDS}


def test_a_batch_locks_all_its_rows_once_in_one_order_before_applying_any_command() -> None:
    uow = FakeCatalogUnitOfWork([product("A", stock=1), product("B", stock=2), product("C", stock=1)])
    apply_batch(uow, [reserve("o0", ("C", 1))])
    uow.calls.clear()
    uow.sent.clear()
    uow.products.locked.clear()
    uow.reservations.locked.clear()

    apply_batch(uow, [reserve("o2", ("B", 1), ("A", 1)), release("o0"), reserve("o1", ("A", 1))])

    assert uow.reservations.locked == [["o0", "o1", "o2"]]
    assert uow.products.locked == [["A", "B", "C"]]  # o0's held sku too, found through its reservation
    assert uow.calls == [
        "lock reservations",
        "lock products",
        "scope o2",
        "scope o0",
        "scope o1",
        "save products",
        "save reservations",
    ]
    assert uow.replies == [
        StockReserved(order_id="o2"),
        StockReleased(order_id="o0"),
        StockUnavailable(order_id="o1", sku="A", reason=str(InsufficientStock("A", 1, 0))),
    ]
    assert {sku: (p.available, p.reserved) for sku, p in uow.products.rows.items()} == {
        "A": (0, 1),
        "B": (1, 1),
        "C": (1, 0),
    }


def test_commands_of_one_batch_see_each_other_in_order() -> None:
    uow = FakeCatalogUnitOfWork([product("A", stock=2)])
    apply_batch(
        uow, [reserve("o1", ("A", 2)), release("o1"), reserve("o1", ("A", 2)), release("o2"), reserve("o2", ("A", 1))]
    )

    assert uow.replies == [
        StockReserved(order_id="o1"),
        StockReleased(order_id="o1"),
        StockUnavailable(order_id="o1", sku="A", reason="order was cancelled"),  # released: not again
        StockReleased(order_id="o2"),
        StockUnavailable(order_id="o2", sku="A", reason="order was cancelled"),
    ]
    assert uow.reservations.rows["o1"][0].status is ReservationStatus.RELEASED
    assert uow.reservations.rows["o2"][0].status is ReservationStatus.RELEASED
    assert uow.products.rows["A"].available == 2
    assert [(e.stock, e.revision) for e in uow.payloads(PRODUCT_EVENTS)] == [(2, 3)]  # its latest state, once
    assert (uow.calls.count("save products"), uow.calls.count("save reservations")) == (1, 1)


def test_a_batch_announces_each_changed_product_once_in_its_latest_state() -> None:
    uow = FakeCatalogUnitOfWork([product("A", stock=10), product("B", stock=10), product("C", stock=10)])
    apply_batch(
        uow, [reserve(f"o{i}", ("A", 1), ("B", i % 2)) if i % 2 else reserve(f"o{i}", ("A", 1)) for i in range(6)]
    )

    assert len(uow.replies) == 6
    assert [(e.sku, e.stock, e.revision) for e in uow.payloads(PRODUCT_EVENTS)] == [("A", 4, 7), ("B", 7, 4)]
    assert (uow.calls.count("save products"), uow.calls.count("save reservations")) == (1, 1)


def test_a_reservation_written_twice_in_a_batch_keeps_the_saga_that_made_it() -> None:
    uow = FakeCatalogUnitOfWork([product("A", stock=2)])
    made, released = reserve("o1", ("A", 1)), release("o1")
    apply_batch(uow, [made, released])
    saved, saga_id = uow.reservations.rows["o1"]
    assert (saved.status, saga_id) == (ReservationStatus.RELEASED, made.saga_id)
