"""Pricing an order from the local copy of the catalogue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orders.domain.orders import OrderLine


class UnknownProduct(Exception):
    """A line names a sku the catalogue does not sell."""

    def __init__(self, index: int, sku: str) -> None:
        super().__init__(f"unknown sku {sku!r}")
        self.index = index
        self.sku = sku


def price_lines(lines: Sequence[tuple[str, int]], prices: Mapping[str, int]) -> list[OrderLine]:
    """Attach today's unit price to each line; raises ``UnknownProduct`` for a sku not on sale."""
    priced = []
    for index, (sku, quantity) in enumerate(lines):
        if sku not in prices:
            raise UnknownProduct(index, sku)
        priced.append(OrderLine(sku, quantity, prices[sku]))
    return priced
