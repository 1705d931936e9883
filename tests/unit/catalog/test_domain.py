"""Catalog's stock rules, as plain objects."""

from __future__ import annotations

import pytest

from catalog.domain.products import InsufficientStock, Product
from catalog.domain.reservations import ReservationStatus, release, reserve


def _products() -> dict[str, Product]:
    return {
        "A": Product("A", "Game A", "NES", 1986, 1000, stock=3),
        "B": Product("B", "Game B", "SNES", 1991, 2000, stock=1),
    }


def test_reserve_takes_every_line() -> None:
    products = _products()
    reservation = reserve("o-1", [("A", 2), ("B", 1)], products)
    assert (products["A"].stock, products["B"].stock) == (1, 0)
    assert reservation.lines == [("A", 2), ("B", 1)] and reservation.status is ReservationStatus.RESERVED
    assert products["A"].revision == 2


def test_reserve_takes_nothing_when_one_line_is_short() -> None:
    products = _products()
    with pytest.raises(InsufficientStock) as short:
        reserve("o-1", [("A", 1), ("B", 2)], products)
    assert short.value.sku == "B" and short.value.available == 1
    assert (products["A"].stock, products["B"].stock) == (3, 1)


def test_repeated_lines_of_one_sku_are_added_up() -> None:
    products = _products()
    with pytest.raises(InsufficientStock):
        reserve("o-1", [("B", 1), ("B", 1)], products)
    assert products["B"].stock == 1


def test_an_unknown_sku_is_out_of_stock() -> None:
    with pytest.raises(InsufficientStock) as short:
        reserve("o-1", [("Z", 1)], _products())
    assert short.value.sku == "Z"


def test_release_gives_back_once() -> None:
    products = _products()
    reservation = reserve("o-1", [("A", 2)], products)
    assert [p.sku for p in release(reservation, products)] == ["A"]
    assert release(reservation, products) == []
    assert products["A"].stock == 3 and reservation.status is ReservationStatus.RELEASED


def test_stock_never_goes_below_zero() -> None:
    product = _products()["B"]
    with pytest.raises(InsufficientStock):
        product.take(2)
    assert product.stock == 1
