"""The games the storefront shows, as catalog answers them, and the shopper's search over them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Game:
    """A product as a shopper sees it."""

    sku: str
    title: str
    platform: str
    release_year: int
    price_cents: int
    available: int

    @classmethod
    def of(cls, product: dict[str, Any]) -> Game:
        """The game in one of catalog's ``/products`` answers."""
        available = product.get("available", product.get("stock", 0))
        return cls(
            str(product["sku"]),
            str(product["title"]),
            str(product["platform"]),
            int(product.get("release_year", 0)),
            int(product["price_cents"]),
            int(available),
        )


def search(games: list[Game], text: str | None, platform: str | None) -> list[Game]:
    """The games whose title contains ``text`` (any case) on ``platform`` (None or empty: any), by title."""
    wanted = (text or "").strip().casefold()
    found = [g for g in games if wanted in g.title.casefold() and (not platform or g.platform == platform)]
    return sorted(found, key=lambda g: (g.title.casefold(), g.platform))


def platforms(games: list[Game]) -> list[str]:
    """Every platform among ``games``, sorted."""
    return sorted({g.platform for g in games})


CartLine = tuple[Game | None, str, int]
"""A cart's line as the pages show it: the game (None: no longer sold), its sku and the quantity."""


def priced(lines: dict[str, int], shelf: dict[str, Game]) -> tuple[list[CartLine], int]:
    """A cart's lines (sku to quantity) with their games from ``shelf``, and their total in cents (of the games
    still sold)."""
    found = [(shelf.get(sku), sku, n) for sku, n in lines.items()]
    return found, sum(g.price_cents * n for g, _, n in found if g is not None)


def price(cents: int) -> str:
    """``4999`` as ``$49.99``."""
    return f"${cents // 100}.{cents % 100:02d}"
