"""Stock adjustments: the record of every operator's change to a product's units on hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StockAdjustment:
    """One change to a product's units on hand: by how much, why, and how many were left.

    ``delta`` is zero for a count that found what was expected; ``at`` is set when it is recorded.
    """

    sku: str
    delta: int
    reason: str
    on_hand_after: int
    at: datetime | None = None
