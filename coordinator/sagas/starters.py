"""How an event starts a saga: which saga, for which order, under which id, with which data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from contracts.base import Message
from coordinator.engine.engine import Transition
from coordinator.engine.instance import SagaInstance
from coordinator.sagas.registered import RegisteredSaga

_SAGA_NAMESPACE = uuid.UUID("0b5f3c1e-2d4a-4c8e-9f60-7a1b2c3d4e5f")


def saga_id_for(saga_type: str, order_id: str) -> uuid.UUID:
    """A saga's id follows from its order, so a redelivered start event cannot start a second saga."""
    return uuid.uuid5(_SAGA_NAMESPACE, f"{saga_type}:{order_id}")


@dataclass(frozen=True)
class Starter:
    """Which saga an event starts, and for which order; the saga's data is the event's fields its data type has."""

    saga: RegisteredSaga
    order_of: Callable[[Any], str]

    def start(self, event: Message, now: datetime) -> tuple[SagaInstance, Transition]:
        """The saga ``event`` starts, with its first command; its id follows from its order."""
        definition = self.saga.definition
        order_id = self.order_of(event)
        data = msgspec.convert(msgspec.to_builtins(event), definition.data_type)
        return self.saga.start(saga_id_for(definition.name, order_id), order_id, data, now)
