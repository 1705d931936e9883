"""The inbox: the ids of the messages a service applied, and the reply each command was answered with."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert

from contracts.envelope import Envelope

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

    def record_replies(self, conn: Any, replies: Mapping[uuid.UUID, dict[str, Any]]) -> None:
        """Keep each command's reply (its outbox row) beside the command's id."""
        ...

    def recorded_replies(self, conn: Any, command_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
        """The replies recorded for these commands, as outbox rows (topic, key, value, headers), in their order."""
        ...


class Inbox:
    """The ``inbox`` table of a service's database (see ``plumbing.db.messaging_tables``)."""

    def __init__(self, table: sa.Table) -> None:
        c = table.c
        self._claim = pg_insert(table).on_conflict_do_nothing(index_elements=["message_id"]).returning(c.message_id)
        self._record = (
            sa.update(table)
            .where(c.message_id == sa.bindparam("command_id"))
            .values({column: sa.bindparam(f"r_{column}") for column in _REPLY_COLUMNS})
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
        return set(conn.execute(self._claim, rows).scalars().all())

    def record_replies(self, conn: sa.Connection, replies: Mapping[uuid.UUID, dict[str, Any]]) -> None:
        """One ``UPDATE`` per reply, sent together (executemany)."""
        if replies:
            rows = [
                {"command_id": command, **{f"r_{column}": row[field] for field, column in _FIELDS.items()}}
                for command, row in replies.items()
            ]
            conn.execute(self._record, rows)

    def recorded_replies(self, conn: sa.Connection, command_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
        """One ``SELECT`` for all of them."""
        if not command_ids:
            return []
        found = {r.message_id: r._mapping for r in conn.execute(self._recorded, {"ids": command_ids})}
        return [{field: found[i][column] for field, column in _FIELDS.items()} for i in command_ids if i in found]
