"""The coordinator's message handlers, and the table that routes each message type to one."""

from __future__ import annotations

from typing import Any

from contracts.base import union_types
from contracts.codecs import SagaReply
from contracts.envelope import Envelope
from contracts.orders import OrderPlaced
from contracts.topics import ORDER_EVENTS, SAGA_REPLIES
from coordinator import services
from coordinator.ports import CoordinatorUnitOfWork
from plumbing.routing import Batched, Routes, Scope


def start_saga(uow: CoordinatorUnitOfWork, event: Envelope[OrderPlaced]) -> None:
    """Start the saga a placed order begins and send its first command (nothing for a redelivery)."""
    services.start_saga(uow, event)


def apply_replies(uow: CoordinatorUnitOfWork, replies: list[Envelope[Any]], scope: Scope) -> None:
    """Apply a batch's replies to their sagas together and send the commands that follow."""
    services.apply_replies(uow, replies, scope)


REPLIES: Batched[CoordinatorUnitOfWork] = Batched(many=apply_replies)

ROUTES: Routes[CoordinatorUnitOfWork] = {
    ORDER_EVENTS.name: {"OrderPlaced": start_saga},
    SAGA_REPLIES.name: {reply_type: REPLIES for reply_type in union_types(SagaReply)},
}
