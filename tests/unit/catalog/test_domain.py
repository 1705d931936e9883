"""Catalog's stock rules, as plain objects."""

from __future__ import annotations

import pytest

from catalog.domain.adjustments import StockAdjustment
from catalog.domain.products import MAX_ON_HAND, InsufficientStock, Product, StaleRevision, StockChangeRefused
from catalog.domain.reservations import ReservationStatus, release, reserve


def _products() -> dict[str, Product]:
    return {
        "A": Product("A", "Game A", "NES", 1986, 1000, on_hand=3),
        "B": Product("B", "Game B", "SNES", 1991, 2000, on_hand=1),
    }


def figures(p: Product) -> tuple[int, int, int, int]:
    """On hand, reserved, available, revision."""
    return p.on_hand, p.reserved, p.available, p.revision


def test_reserve_holds_every_line_on_the_shelf() -> None:
    products = _products()
    reservation = reserve("o-1", [("A", 2), ("B", 1)], products)
    assert (figures(products["A"]), figures(products["B"])) == ((3, 2, 1, 2), (1, 1, 0, 2))
    assert reservation.lines == [("A", 2), ("B", 1)] and reservation.status is ReservationStatus.RESERVED


def test_reserve_takes_nothing_when_one_line_is_short() -> None:
    products = _products()
    with pytest.raises(InsufficientStock) as short:
        reserve("o-1", [("A", 1), ("B", 2)], products)
    assert short.value.sku == "B" and short.value.available == 1
    assert (figures(products["A"]), figures(products["B"])) == ((3, 0, 3, 1), (1, 0, 1, 1))


def test_repeated_lines_of_one_sku_are_added_up() -> None:
    products = _products()
    with pytest.raises(InsufficientStock):
        reserve("o-1", [("B", 1), ("B", 1)], products)
    assert products["B"].available == 1


def test_an_unknown_sku_is_out_of_stock() -> None:
    with pytest.raises(InsufficientStock) as short:
        reserve("o-1", [("Z", 1)], _products())
    assert short.value.sku == "Z"


def test_release_makes_the_units_available_again_once() -> None:
    products = _products()
    reservation = reserve("o-1", [("A", 2)], products)
    assert [p.sku for p in release(reservation, products)] == ["A"]
    assert release(reservation, products) == []
    assert figures(products["A"]) == (3, 0, 3, 3) and reservation.status is ReservationStatus.RELEASED


def test_only_available_units_can_be_reserved() -> None:
    product = Product("B", "Game B", "SNES", 1991, 2000, on_hand=3, reserved=2)
    with pytest.raises(InsufficientStock) as short:
        product.reserve(2)
    assert short.value.available == 1
    assert figures(product) == (3, 2, 1, 1)


def test_releasing_more_than_is_reserved_is_a_bug() -> None:
    product = Product("B", "Game B", "SNES", 1991, 2000, on_hand=3, reserved=1)
    with pytest.raises(ValueError, match="cannot release 2 of 1"):
        product.release(2)
    assert figures(product) == (3, 1, 2, 1)


def test_an_adjustment_changes_units_on_hand_and_says_what_is_left() -> None:
    product = Product("A", "Game A", "NES", 1986, 1000, on_hand=5, reserved=2)
    assert product.adjust(10, "delivery") == StockAdjustment("A", 10, "delivery", 15)
    assert product.adjust(-13, "flood") == StockAdjustment("A", -13, "flood", 2)
    assert figures(product) == (2, 2, 0, 3)


def test_an_adjustment_cannot_take_reserved_units() -> None:
    product = Product("A", "Game A", "NES", 1986, 1000, on_hand=5, reserved=2)
    with pytest.raises(StockChangeRefused, match="would leave 1 on hand for 2 reserved"):
        product.adjust(-4, "count")
    assert figures(product) == (5, 2, 3, 1)


def test_an_adjustment_cannot_pass_the_limit_of_units_on_hand() -> None:
    product = Product("A", "Game A", "NES", 1986, 1000, on_hand=MAX_ON_HAND - 1)
    with pytest.raises(StockChangeRefused, match="more than"):
        product.adjust(2, "delivery")
    assert product.adjust(1, "delivery").on_hand_after == MAX_ON_HAND


def test_a_count_sets_the_available_units_and_keeps_every_reservation() -> None:
    product = Product("A", "Game A", "NES", 1986, 1000, on_hand=5, reserved=2, revision=7)
    assert product.set_available(0, revision=7) == StockAdjustment("A", -3, "count: 0 available", 2)
    assert figures(product) == (2, 2, 0, 8)
    assert product.set_available(4, revision=8).delta == 4
    assert figures(product) == (6, 2, 4, 9)


def test_a_count_made_against_an_old_revision_is_refused() -> None:
    product = Product("A", "Game A", "NES", 1986, 1000, on_hand=5, reserved=2, revision=7)
    with pytest.raises(StaleRevision, match="at revision 7, not 6") as stale:
        product.set_available(10, revision=6)
    assert stale.value.current == 7
    assert figures(product) == (5, 2, 3, 7)
