"""The sagas this coordinator runs, by name, each with its retry policy configured beside it (see ``patience``:
read from the environment when the coordinator starts), and the events that start them."""

from __future__ import annotations

from operator import attrgetter

from contracts.base import wire_type
from contracts.orders import OrderPlaced
from coordinator.sagas.create_order import CREATE_ORDER
from coordinator.sagas.patience import PatienceSettings, create_order_policy
from coordinator.sagas.registered import RegisteredSaga
from coordinator.sagas.starters import Starter, saga_id_for

__all__ = ["SAGAS", "STARTERS", "RegisteredSaga", "Starter", "saga_id_for"]

SAGAS: dict[str, RegisteredSaga] = {
    CREATE_ORDER.name: RegisteredSaga(CREATE_ORDER, create_order_policy(PatienceSettings.from_env())),
}

STARTERS: dict[str, Starter] = {
    wire_type(OrderPlaced): Starter(SAGAS[CREATE_ORDER.name], order_of=attrgetter("order_id")),
}
"""message type -> the saga it starts"""
