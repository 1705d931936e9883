"""The sagas this coordinator runs, by name, each with its retry policy configured beside it, and the events
that start them."""

from __future__ import annotations

from operator import attrgetter

from contracts.base import wire_type
from contracts.orders import OrderPlaced
from coordinator.engine.definition import RetryPolicy
from coordinator.sagas.create_order import CREATE_ORDER
from coordinator.sagas.registered import RegisteredSaga
from coordinator.sagas.starters import Starter, saga_id_for

__all__ = ["SAGAS", "STARTERS", "RegisteredSaga", "Starter", "saga_id_for"]

SAGAS: dict[str, RegisteredSaga] = {
    CREATE_ORDER.name: RegisteredSaga(
        CREATE_ORDER, RetryPolicy(reply_timeout_s=10.0, max_attempts=5, backoff_max_s=60.0)
    ),
}

STARTERS: dict[str, Starter] = {
    wire_type(OrderPlaced): Starter(SAGAS[CREATE_ORDER.name], order_of=attrgetter("order_id")),
}
"""message type -> the saga it starts"""
