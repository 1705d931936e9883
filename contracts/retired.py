"""Retired versions of message types: still decoded, then upgraded to the current version (see docs/contracts.md).

When a message type gets a breaking change, its class's ``schema_version`` is bumped and its previous shape
moves here, as a subclass of ``Retired`` with the same wire type, the old ``schema_version`` and an
``upgrade()`` that returns the current version. For example, after ``ReserveStock`` v2 added ``warehouse``::

    class ReserveStockV1(Retired, frozen=True, kw_only=True, tag="ReserveStock"):
        schema_version = 1
        order_id: str
        lines: Lines

        def upgrade(self) -> ReserveStock:
            return ReserveStock(order_id=self.order_id, lines=self.lines, warehouse=DEFAULT_WAREHOUSE)

and ``RETIRED = (ReserveStockV1,)``. Every topic's codec reads the retired versions of the types it carries
(``contracts/codecs.py``), ``python -m tools.contracts generate`` writes their schemas beside the current ones, and
``python -m tools.contracts compat`` checks that each one still has its released shape.
"""

from __future__ import annotations

from contracts.base import Retired

RETIRED: tuple[type[Retired], ...] = ()
"""Every retired version still decoded; one stays until no producer can emit it and its topic's retention has passed."""
