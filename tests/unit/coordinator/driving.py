"""Driving the CreateOrder saga through the engine alone (no broker, no database): start it, answer it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.base import Message, PricedLine
from contracts.envelope import Envelope, wrap
from coordinator.engine import engine
from coordinator.engine.definition import RetryPolicy
from coordinator.engine.engine import Transition
from coordinator.engine.instance import SagaInstance, SagaState
from coordinator.sagas import SAGAS
from coordinator.sagas.create_order import CREATE_ORDER, OrderSagaData

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
POLICY = SAGAS[CREATE_ORDER.name].retry
ORDER = "order-1"


def data() -> OrderSagaData:
    """One order's saga data: two units of one product, paid by a good card."""
    return OrderSagaData(
        order_id=ORDER,
        customer_id="c-1",
        lines=[PricedLine(sku="SNES-SMW", quantity=2, unit_price_cents=4499)],
        total_cents=8998,
        currency="usd",
        payment_method="pm_card_visa",
    )


def start(policy: RetryPolicy = POLICY) -> tuple[SagaInstance, Transition]:
    """A new saga at ``NOW`` and the transition that sent its first command."""
    return engine.start(CREATE_ORDER, policy, uuid.uuid4(), ORDER, data(), NOW)


def reply_to_last(saga: SagaInstance, last: Transition, payload: Message) -> Envelope[Any]:
    """``payload`` as the reply to the last command ``last`` sent."""
    command = last.commands[-1].envelope
    return wrap(payload, correlation_id=ORDER, saga_id=saga.saga_id, causation_id=command.message_id)


def step(
    saga: SagaInstance, last: Transition, payload: Message, *, policy: RetryPolicy = POLICY, at: datetime = NOW
) -> Transition:
    """Apply ``payload`` as the reply to the last command ``last`` sent."""
    return engine.on_reply(CREATE_ORDER, policy, saga, reply_to_last(saga, last, payload), at)


def state(saga: SagaInstance) -> SagaState:
    """The saga's state, read afresh (keeps mypy from narrowing it across engine calls)."""
    return saga.state


def sent(transition: Transition) -> list[type[Message]]:
    """The types of the commands a transition sends, in order."""
    return [type(c.envelope.payload) for c in transition.commands]
