"""Stock adjustments: the record of every operator's change to a product's units on hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StockAdjustment:
    """One change to a product's units on hand: by how much, why, how many were left, and who made it.

    ``delta`` is zero for a count that found what was expected; ``at`` is set when it is recorded;
    ``adjusted_by`` is None for adjustments recorded before it was.
    """

    sku: str
    delta: int
    reason: str
    on_hand_after: int
    at: datetime | None = None
    adjusted_by: str | None = None
