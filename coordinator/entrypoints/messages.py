"""The coordinator's message handlers, and the table that routes each message type to one."""

from __future__ import annotations

from typing import Any

from contracts.base import union_types
from contracts.codecs import SagaReply
from contracts.envelope import Envelope
from contracts.topics import ORDER_EVENTS, SAGA_REPLIES
from coordinator import services
from coordinator.ports import CoordinatorUnitOfWork
from plumbing.routing import Batched, Routes, Scope


def start_sagas(uow: CoordinatorUnitOfWork, events: list[Envelope[Any]], scope: Scope) -> None:
    """Start the sagas a batch's placed orders begin and send their first commands (nothing for a redelivery)."""
    services.start_sagas(uow, events, scope)


def apply_replies(uow: CoordinatorUnitOfWork, replies: list[Envelope[Any]], scope: Scope) -> None:
    """Apply a batch's replies to their sagas together and send the commands that follow."""
    services.apply_replies(uow, replies, scope)


STARTS: Batched[CoordinatorUnitOfWork] = Batched(many=start_sagas)
REPLIES: Batched[CoordinatorUnitOfWork] = Batched(many=apply_replies)

ROUTES: Routes[CoordinatorUnitOfWork] = {
    ORDER_EVENTS.name: {"OrderPlaced": STARTS},
    SAGA_REPLIES.name: {reply_type: REPLIES for reply_type in union_types(SagaReply)},
}
