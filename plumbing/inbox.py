"""The inbox: the ids of the messages a service applied, and the reply each command was answered with.

Rows are kept for ``RV_INBOX_RETENTION_S`` after they were applied, then pruned (``plumbing.inbox_pruning``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from contracts.envelope import Envelope
from plumbing.json_rows import Deferred, insert_rows, recordset, rows_param
from plumbing.outbox import Outgoing

_FIELDS = {"topic": "reply_topic", "key": "reply_key", "value": "reply_value", "headers": "reply_headers"}
"""An outbox row's fields -> the inbox columns that record them (``plumbing.db.messaging_tables``)."""
_REPLY_COLUMNS = tuple(_FIELDS.values())


class Claimed(Protocol):
    """A decoded message, as the inbox needs it."""

    @property
    def envelope(self) -> Envelope[Any]: ...

    @property
    def topic(self) -> str: ...


class InboxPort(Protocol):
    """What the consumer asks of the inbox, inside its transaction (``Inbox``; a fake in unit tests)."""

    def claim(self, conn: Any, items: list[Any]) -> set[uuid.UUID]:
        """Record the messages' ids; returns the ids that were not there yet (the messages to apply)."""
        ...

    def record_replies(self, uow: Any, replies: Mapping[uuid.UUID, dict[str, Any]]) -> None:
        """Keep each command's reply (its outbox row) beside the command's id, in ``uow``'s transaction."""
        ...

    def recorded_replies(self, conn: Any, command_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
        """The replies recorded for these commands, as outbox rows (topic, key, value, headers), in their order."""
        ...


class Inbox:
    """The ``inbox`` table of a service's database (see ``plumbing.db.messaging_tables``)."""

    def __init__(self, table: sa.Table) -> None:
        c = table.c
        # Both take all their rows as one JSON parameter (``plumbing.json_rows``): one statement per batch.
        self._claim = insert_rows(
            table.name,
            {"message_id": "uuid", "message_type": "text", "topic": "text"},
            suffix="ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
        )
        replies = {"command_id": "uuid", "topic": "text", "key": "text", "value": "bytea", "headers": "jsonb"}
        # Sent with the transaction's outbox insert (``UnitOfWork.defer``): no round trip of its own.
        self._record = Deferred(
            f"UPDATE {table.name} AS i SET reply_topic = r.topic, reply_key = r.key,"
            " reply_value = decode(r.value, 'base64'), reply_headers = r.headers"
            f" FROM {recordset(replies, 'r', param='replies')} WHERE i.message_id = r.command_id",
            "replies",
        )
        # Bounded, and shared by N instances: each takes rows no other prune holds (SKIP LOCKED).
        self._prune = sa.text(
            f"DELETE FROM {table.name} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table.name}"
            " WHERE applied_at < now() - make_interval(secs => :age_s) LIMIT :limit FOR UPDATE SKIP LOCKED))"
        )
        ids = sa.bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
        self._recorded = sa.select(c.message_id, *(c[column] for column in _REPLY_COLUMNS)).where(
            c.message_id == sa.any_(ids), c.reply_topic.is_not(None)
        )

    def claim(self, conn: sa.Connection, items: Iterable[Claimed]) -> set[uuid.UUID]:
        """Insert the message ids (``ON CONFLICT DO NOTHING``); returns the ids that were not there yet."""
        rows = [{"message_id": i.envelope.message_id, "message_type": i.envelope.type, "topic": i.topic} for i in items]
        if not rows:
            return set()
        return set(conn.execute(self._claim, rows_param(rows)).scalars().all())

    def record_replies(self, uow: Outgoing, replies: Mapping[uuid.UUID, dict[str, Any]]) -> None:
        """One ``UPDATE`` for all of them, sent with ``uow``'s outbox insert (so after the claim that inserted
        the commands' rows, which it updates)."""
        uow.defer(self._record, [{**row, "command_id": i} for i, row in replies.items()])

    def prune(self, conn: sa.Connection, *, older_than_s: float, limit: int) -> int:
        """Delete up to ``limit`` rows applied more than ``older_than_s`` ago (their recorded replies with them),
        skipping rows another transaction holds; returns how many were deleted."""
        return conn.execute(self._prune, {"age_s": older_than_s, "limit": limit}).rowcount

    def recorded_replies(self, conn: sa.Connection, command_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
        """One ``SELECT`` for all of them."""
        if not command_ids:
            return []
        found = {r.message_id: r._mapping for r in conn.execute(self._recorded, {"ids": command_ids})}
        return [{field: found[i][column] for field, column in _FIELDS.items()} for i in command_ids if i in found]
