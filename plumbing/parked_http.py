"""``/outbox/parked`` in every service: the outbox rows Kafka refused for good, to retry or discard."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

from plumbing.db import reading
from plumbing.errors import NotFound
from plumbing.http import problems
from plumbing.parked import MAX_ID, ParkedRow, discard, list_parked, unpark
from plumbing.unit_of_work import Transactions

TransactionsDependency = NamedDependency[Transactions[Any]]
ParkedId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The parked row's id (its outbox id).")]


class Retried(msgspec.Struct, frozen=True):
    """A parked row put back into the outbox, under a new outbox id; the relay publishes it again."""

    id: int
    outbox_id: int
    topic: str


class ParkedOutboxController(Controller):
    """Outbox rows Kafka refused for good (too large, a topic that stayed missing, ...): list, retry, discard."""

    path = "/outbox/parked"

    @get("/", sync_to_thread=True, responses=problems())
    def list_parked_rows(
        self, transactions: TransactionsDependency, limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100
    ) -> list[ParkedRow]:
        """Parked rows, newest first, each with the refusal (``error``), its attempts and its size in bytes."""
        with reading(transactions.engine) as conn:
            return list_parked(conn, limit=limit)

    @post("/{parked_id:int}/retry", sync_to_thread=True, status_code=200, responses=problems(404))
    def retry_parked_row(self, transactions: TransactionsDependency, parked_id: ParkedId) -> Retried:
        """Move a parked row back into the outbox (same topic, key, bytes and headers); the relay publishes it
        at once. If Kafka refuses it again, it is parked again. 404 if there is no such parked row."""
        return retry_parked(transactions, parked_id)

    @delete("/{parked_id:int}", sync_to_thread=True, responses=problems(404))
    def discard_parked_row(self, transactions: TransactionsDependency, parked_id: ParkedId) -> None:
        """Delete a parked row for good (204); its message is never sent. 404 if there is no such parked row."""
        discard_parked(transactions, parked_id)


def retry_parked(transactions: Transactions[Any], parked_id: int) -> Retried:
    """Move a parked row back into the outbox in one transaction, handed to the relay as it commits."""
    with transactions.begin() as uow:
        row = unpark(uow.conn, parked_id)
        if row is None:
            raise NotFound(f"no parked outbox row {parked_id}")
        uow.republish(topic=row.topic, key=row.key, value=row.value, headers=row.headers)
    return Retried(id=parked_id, outbox_id=uow.written[-1].id, topic=row.topic)


def discard_parked(transactions: Transactions[Any], parked_id: int) -> None:
    """Delete a parked row for good; ``NotFound`` if there is none."""
    with transactions.engine.begin() as conn:
        if not discard(conn, parked_id):
            raise NotFound(f"no parked outbox row {parked_id}")
