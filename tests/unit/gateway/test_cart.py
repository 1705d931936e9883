"""The cart's limits and its signed cookie."""

from __future__ import annotations

import pytest

from gateway.domain.cart import MAX_LINES, Cart, CartError, decode, encode

KEY = b"k" * 32


def test_adding_sums_quantities_and_keeps_the_order_lines_were_added_in() -> None:
    cart = Cart().add("B", 2).add("A", 1).add("B", 3)
    assert (cart.lines, cart.count) == ({"B": 5, "A": 1}, 6)
    assert cart.remove("B").lines == {"A": 1}


@pytest.mark.parametrize("quantity", [0, -1, 11])
def test_a_quantity_is_1_to_10(quantity: int) -> None:
    with pytest.raises(CartError, match="from 1 to 10"):
        Cart().add("A", quantity)


def test_at_most_10_of_a_game_and_20_games() -> None:
    with pytest.raises(CartError, match="At most 10 of a game"):
        Cart().add("A", 6).add("A", 5)
    full = Cart()
    for n in range(MAX_LINES):
        full = full.add(f"G{n}", 1)
    with pytest.raises(CartError, match="at most 20 different games"):
        full.add("one-more", 1)
    assert full.add("G0", 1).lines["G0"] == 2


def test_the_cookie_round_trips_and_a_tampered_or_foreign_one_is_an_empty_cart() -> None:
    cart = Cart().add("SNES-SMW", 2).add("NES-ZELDA", 1)
    value = encode(cart, KEY)
    assert decode(value, KEY) == cart
    placed = cart.placed("key-1", "o-1")
    assert decode(encode(placed, KEY), KEY) == Cart({}, ("key-1", "o-1"))
    body, _, mac = value.rpartition(".")
    forged = encode(Cart().add("SNES-SMW", 10), b"another key!" * 3).rpartition(".")[0]
    for bad in [f"{forged}.{mac}", f"{body}.{mac[:-1]}0", "", None, "garbage", f"{body}x.{mac}"]:
        assert decode(bad, KEY) == Cart()
    assert decode(value, b"x" * 32) == Cart()


@pytest.mark.parametrize("value", ["abc.\u00e9", "\u00e9.abc", "abc.\u00c3\u00a9"])
def test_a_cookie_that_is_not_ascii_is_an_empty_cart(value: str) -> None:
    assert decode(value, KEY) == Cart()
