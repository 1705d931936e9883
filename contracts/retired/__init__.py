"""Retired versions of message types: still decoded, then upgraded to the current version (see docs/contracts.md).

When a message type gets a breaking change, its class's ``schema_version`` is bumped and its previous shape
moves here, as a subclass of ``Retired`` with the same wire type, the old ``schema_version`` and an
``upgrade()`` that returns the current version. Every topic's codec reads the retired versions of the types it
carries (``contracts/codecs.py``), ``python -m tools.contracts generate`` writes their schemas beside the current
ones, and ``python -m tools.contracts compat`` checks that each one still has its released shape. One module per
owner, as in ``contracts/`` (``catalog``, ``payment``, ``orders``, ``failures``); what they share is in ``base``.

The v1 of every type (released in contracts v1 and v2) left ids, titles and codes unbounded, allowed NUL, and
its ``Sku`` and ``Currency`` patterns let a final newline through. v2 (contracts v3) bounds them all and keeps
the fields, so each v1 upgrades field by field; a v1 message v2 refuses (an order id of 65 characters, a NUL)
fails to upgrade with msgspec's reason, and the consumer dead-letters it.
"""

from __future__ import annotations

from contracts.base import Retired
from contracts.retired.catalog import (
    ProductChangedV1,
    ReleaseStockV1,
    ReserveStockV1,
    StockReleasedV1,
    StockReservedV1,
    StockUnavailableV1,
)
from contracts.retired.failures import CommandFailedV1
from contracts.retired.orders import ApproveOrderV1, OrderApprovedV1, OrderPlacedV1, OrderRejectedV1, RejectOrderV1
from contracts.retired.payment import (
    ChargePaymentV1,
    PaymentDeclinedV1,
    PaymentRefundedV1,
    PaymentSucceededV1,
    RefundPaymentV1,
)

RETIRED: tuple[type[Retired], ...] = (
    ReserveStockV1,
    ReleaseStockV1,
    StockReservedV1,
    StockUnavailableV1,
    StockReleasedV1,
    ProductChangedV1,
    ChargePaymentV1,
    RefundPaymentV1,
    PaymentSucceededV1,
    PaymentDeclinedV1,
    PaymentRefundedV1,
    OrderPlacedV1,
    ApproveOrderV1,
    RejectOrderV1,
    OrderApprovedV1,
    OrderRejectedV1,
    CommandFailedV1,
)
"""Every retired version still decoded; one stays until no producer can emit it and its topic's retention has passed."""
