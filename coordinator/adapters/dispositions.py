"""What operators did with dead letters, in the coordinator's database (``coordinator.ports.Dispositions``)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from coordinator.adapters.tables import dead_letter_dispositions as table
from coordinator.ports import Disposition

_COLUMNS = (table.c.letter_id, table.c.disposition, table.c.actor, table.c.at, table.c.replays)


class DispositionStore:
    """Dead letters' dispositions through the caller's connection, one row per letter, keyed by the letter's
    ``unique_id`` (its id and timestamp: a re-created topic reuses ids, never both)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def lock(self, letter_id: str) -> Disposition | None:
        """The letter's disposition, locked to the transaction's end: a transaction-scoped advisory lock on the
        letter id first, so two first actions on one letter also wait for each other."""
        self._conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(letter_id, 0))))
        row = self._conn.execute(sa.select(*_COLUMNS).where(table.c.letter_id == letter_id)).first()
        return Disposition(**row._mapping) if row else None

    def put(self, disposition: Disposition) -> Disposition:
        """Insert or overwrite the letter's disposition, stamped with the transaction's time."""
        values = {
            "letter_id": disposition.letter_id,
            "disposition": disposition.disposition,
            "actor": disposition.actor,
            "replays": disposition.replays,
            "at": sa.func.now(),
        }
        insert = pg_insert(table).values(values)
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.letter_id], set_={k: insert.excluded[k] for k in values if k != "letter_id"}
        ).returning(*_COLUMNS)
        return Disposition(**self._conn.execute(upsert).one()._mapping)

    def of(self, letter_ids: Iterable[str]) -> dict[str, Disposition]:
        """The dispositions of these letters (those that have one)."""
        wanted = list(letter_ids)
        if not wanted:
            return {}
        rows = self._conn.execute(sa.select(*_COLUMNS).where(table.c.letter_id.in_(wanted)))
        return {row.letter_id: Disposition(**row._mapping) for row in rows}
